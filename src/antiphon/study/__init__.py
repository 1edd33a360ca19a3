"""The optimizer study: specs (spec), the study folder (store), one run on a Dask worker and the
driver (runner), what is measured on a trained model (measure, sharpness), statistics, and the
report with its figures (report, plots). docs/study.md describes it for users."""
