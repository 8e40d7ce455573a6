"""UI pieces shared by several pages (store access, plots, filters, job polling, errors)."""
