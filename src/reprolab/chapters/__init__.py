"""What is special to each chapter: its non-`train` kinds and its report additions.

A chapter module may define `summarize(summary, loaded, results_root, figures_dir)`, called after
the generic tables are built, to add figures, tables and observations computed from numbers.
"""
