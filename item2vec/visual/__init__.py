"""For people to look at: the 2-D item map, interactive and static plots, the HTML report.

May import: ``item2vec.evaluation`` and every room below it, and the ground floor.
"""
