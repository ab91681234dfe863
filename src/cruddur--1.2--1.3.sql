/*
 * src/cruddur--1.2--1.3.sql -- cruddur 1.2 to 1.3.
 *
 * Nothing changes in the C build's objects: the library serves 1.3 with
 * 1.2's declarations.  1.3 is a release of the SQL flavour (bin/flavour,
 * for servers that load no C), whose read functions got faster bodies
 * (the argument checks in one test; the user feed's and the replies' next
 * pages read from where they start, not filtered from the first row).
 * Every upgrade script of the flavour re-creates the bodies of the
 * functions that are C here, so this one brings those bodies to a
 * database the flavour installed at 1.2.
 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION cruddur UPDATE TO '1.3'" to load this file. \quit
