"""Figures built from the long metrics table and small saved arrays (one module per figure).

Only constants live here, so the workflow can read them without importing matplotlib.
"""

#: Folder of the figures that span all conditions of a dataset (not a condition name).
OVERVIEW = "overview"
