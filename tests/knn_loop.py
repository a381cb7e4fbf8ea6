"""A plain-Python port of session-rec's SKNN, V-SKNN and STAN, one case at a time.

It follows session-rec's ``predict_next`` and the helpers it calls (possible_neighbor_sessions /
most_recent_sessions, calc_similarity, find_neighbors, score_items, the weighting functions)
step by step, with the conventions ``item2vec.evaluation.knn`` documents: sequence numbers as
times, STAN's clock of 100 days, candidates iterated in ascending number before the stable sort,
items outside the catalogue dropped, the textbook cosine for SKNN, sums not above 0 unscored.
Shared items' weights are summed in catalogue-column order (session-rec sums in set order) so
that equal similarities stay equal to the last bit in both implementations.
"""

from __future__ import annotations

import math

import numpy as np

from item2vec.evaluation.knn import KnnParams

SPAN = 100.0


def position_weight(name: str, i: int, length: int) -> float:
    if name == "same":
        return 1.0
    if name == "div":
        return i / length
    if name == "linear":
        return 1 - (0.1 * (length - i)) if i <= 10 else 0.0
    if name == "log":
        return 1 / math.log10((length - i) + 1.7)
    return (i / length) ** 2  # quadratic


def step_weight(name: str, i: int) -> float:
    if name == "same":
        return 1.0
    if name == "div":
        return 1 / i
    if name == "linear":
        return 1 - (0.1 * i) if i <= 100 else 0.0
    if name == "log":
        return 1 / math.log10(i + 1.7)
    return 1 / (i * i)  # quadratic


class LoopKnn:
    def __init__(self, train: list[list[str]], index: dict[str, int]) -> None:
        self.index = index
        self.sessions = [[index[i] for i in seq if i in index] for seq in train]
        self.sets = [set(s) for s in self.sessions]
        self.item_sessions: dict[int, set[int]] = {}
        for number, items in enumerate(self.sessions):
            for item in items:
                self.item_sessions.setdefault(item, set()).add(number)
        n = len(train)
        self.age = [(n - number) * SPAN / n for number in range(n)]
        used = sum(1 for s in self.sessions if s)
        counts: dict[int, int] = {}
        for items in self.sessions:
            for item in items:
                counts[item] = counts.get(item, 0) + 1
        self.idf = {item: math.log(used / c) for item, c in counts.items()}

    def scores(self, queries: list[list[str]], p: KnnParams, own: list[int] | None = None) -> np.ndarray:
        out = np.zeros((len(queries), len(self.index)))
        for case, query in enumerate(queries):
            current = [self.index[i] for i in query if i in self.index]
            if not current:
                continue
            mine = own[case] if own is not None else -1
            for item, score in self.predict(current, p, mine).items():
                if score > 0:
                    out[case, item] = score
        return out

    def predict(self, current: list[int], p: KnnParams, own: int) -> dict[int, float]:
        relevant: set[int] = set()
        for item in current:
            relevant |= self.item_sessions.get(item, set())
        relevant.discard(own)
        if p.sample_size and len(relevant) > p.sample_size:  # most_recent_sessions
            relevant = set(sorted(relevant, reverse=True)[: p.sample_size])
        neighbours = []
        for session in sorted(relevant):
            sim = self.similarity(current, session, p)
            if sim > 0:
                neighbours.append((session, sim))
        neighbours = sorted(neighbours, reverse=True, key=lambda x: x[1])[: p.k]
        return self.score_items(current, neighbours, p)

    def similarity(self, current: list[int], session: int, p: KnnParams) -> float:
        mine, theirs = set(current), self.sets[session]
        shared = sorted(mine & theirs)
        if p.method == "sknn":
            if p.similarity == "jaccard":
                return len(shared) / len(mine | theirs)
            return len(shared) / (math.sqrt(len(mine)) * math.sqrt(len(theirs)))
        pos_map: dict[int, float] = {}
        for i, item in enumerate(current, start=1):
            if p.method == "vsknn":
                pos_map[item] = position_weight(p.weighting, i, len(current))
            else:
                pos_map[item] = math.exp((i - len(current)) / p.lambda_spw)
        vp_sum = 0.0
        for item in shared:
            vp_sum += pos_map[item]
        if p.method == "vsknn":
            return vp_sum / len(pos_map)
        current_sum = 0.0
        for item in sorted(mine):
            current_sum += pos_map[item] * pos_map[item]
        result = vp_sum / (math.sqrt(current_sum) * math.sqrt(len(theirs)))
        return result * math.exp(-self.age[session] / p.lambda_snh)

    def score_items(
        self, current: list[int], neighbours: list[tuple[int, float]], p: KnnParams
    ) -> dict[int, float]:
        scores: dict[int, float] = {}
        mine = set(current)
        for session, sim in neighbours:
            items = self.sessions[session]
            if p.method == "sknn":
                for item in set(items):
                    scores[item] = scores.get(item, 0.0) + sim
            elif p.method == "vsknn":
                step = 1
                for item in reversed(current):
                    if item in self.sets[session]:
                        break
                    step += 1
                decay = step_weight(p.weighting_score, step)
                for item in set(items):
                    value = sim
                    if p.idf_weighting:
                        value = value + value * self.idf[item] * p.idf_weighting
                    scores[item] = scores.get(item, 0.0) + value * decay
            else:
                pos_last: dict[int, int] = {}
                pos_star = 0
                for i, item in enumerate(items, start=1):
                    if item in mine:
                        pos_star = i
                    pos_last[item] = i
                for item in set(items):
                    value = sim * math.exp(-abs(pos_last[item] - pos_star) / p.lambda_inh)
                    scores[item] = scores.get(item, 0.0) + value
        return scores
