"""Streamlit pieces shared by the pages: the sidebar, cached loaders, banners."""
