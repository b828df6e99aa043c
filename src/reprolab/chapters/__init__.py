"""One package per chapter: what is special to it.

`__init__.py` registers the chapter's own kinds of job (`reprolab.kinds`; light: the Snakefile
reads it), `jobs.py` holds their job functions, and `report.py` their summarisers and, in an
`EXPERIMENTS` table, the chapter's additions to the report part of an experiment.
"""
