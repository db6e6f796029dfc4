"""Machine translation: pluggable providers over HTTP, with results cached in the database."""
