"""A student's workspace, kept on disk: the current image, the choices on every page, the
training runs and the results already paid for, found again by an unguessable id.

`WorkspaceStore` (store.py) is the interface; `SQLiteStore` (sqlite_store.py) its embedded
implementation, with large items (images, checkpoints) as files named by their SHA-256
(blobs.py). Nothing here knows about Streamlit: a notebook can open a store and read a
student's runs.
"""
