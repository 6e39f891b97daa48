"""The owner's dashboard on the admin's front page: figures.py collects what it shows (a
selector: reads only), display.py writes numbers and dates for the reader, svg.py draws the
charts; the template tag in reports/templatetags is the thin caller."""

from .figures import PERMISSION, dashboard_collect, job_state, key_figures

__all__ = ["PERMISSION", "dashboard_collect", "job_state", "key_figures"]
