"""Analysis: score tables and intervals, experiments and studies, gate traces."""
