"""LanHAR Studio core library: language-guided human activity recognition. Never imports Streamlit."""

__version__ = "0.1.0"
