/*
 * src/cruddur--1.1--1.2.sql -- cruddur 1.1 to 1.2.
 *
 * Reads whose cost is bounded by the page (a kept count of each person's
 * cruds, replies paged), triggers with a fixed search_path, and adopting an
 * existing Cruddur database.
 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION cruddur UPDATE TO '1.2'" to load this file. \quit
