"""Bulk loading by driver: SQL Server's bulk copy (mssql_bulk.py)."""
