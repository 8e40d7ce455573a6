"""The Streamlit app of LanHAR Studio: ``streamlit run app/main.py``.

``app/`` holds the entry point and shared UI pieces; the pages live in the top-level
``pages/`` folder. Pages are thin: they call ``lanhar_core`` and ``storage`` and draw the
results; no SQL and no model logic lives here.
"""
