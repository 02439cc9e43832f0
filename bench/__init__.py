"""`make bench`: how far one machine goes, measured side by side with the raw limits of the same
machine (psycopg INSERT and COPY into an equivalent table) in one run.

Not part of `make test`. See the README's Performance section; `python -m bench` runs it.
"""
