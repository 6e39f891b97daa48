"""Financial reports, reconciliation and the owner's dashboard: reads every app, imported by none."""
