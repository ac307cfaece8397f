"""A student's workspace, kept on disk: the current image, the choices on every page, the
training runs and the results already paid for, found again by an unguessable id.

`WorkspaceStore` (store.py) is the interface; `SQLiteStore` (sqlite_store.py) its embedded
implementation, with large items (images, checkpoints) as files named by their SHA-256
(blobs.py); `PostgresStore` (postgres_store.py) the one several replicas share, blobs included;
`open_store` (stores.py) picks one from the server's settings. Nothing here knows about Streamlit: a notebook can open a store and read a
student's runs.
"""
