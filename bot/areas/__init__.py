"""The district's shape: the area tree (centre → institutes → stations) read from its CSV.

Owns: tree.py (AreaTree, load_areas, distances). May import: the standard library only (the
config validates the file through it, so it sits below everything else).
"""
