"""Reporting: the reads of the marts that people look at. The queries in `sql/` are shared by the
text report (`make report`) and the Marketing dashboard, so both show the same figures."""

from marketing.sqlfiles import SqlFiles

SQL = SqlFiles(__file__)
