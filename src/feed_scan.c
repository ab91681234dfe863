/*-------------------------------------------------------------------------
 *
 * home_feed_scan.c
 *	  The home feed read straight from its index, without the executor.
 *
 * The home feed is the app's hottest read.  Through a saved plan, most of a
 * small page's cost is the executor starting and ending: locking and
 * opening every relation of the plan and building its nodes and
 * expressions, for twenty rows.  Here a page walks activities_home_feed_idx
 * with the calling statement's snapshot (what SPI read-only would see),
 * skips replies and expired cruds as the query's quals do, looks each
 * author up in users' primary key once per call, and formats the rows with
 * json_writer.c, so the text is the same as the saved plan's.  The access
 * methods take the predicate locks of SERIALIZABLE as under the plan: the
 * index pages and rows read, except that an author found by their hint is
 * locked by their row alone (its key cannot be inserted again while the
 * row lives, and changing the row conflicts on the row).
 *
 * It serves only when that is exactly what the query would return and check:
 * the current user may SELECT both tables as wholes, neither has row level
 * security enabled or inheritance children, no ExecutorCheckPerms_hook
 * (sepgsql) is loaded, and the tables and indexes are as the install script
 * made them.  Otherwise home_feed_scan returns false and the caller runs
 * its saved plan, which applies policies, column privileges and children,
 * and raises the usual errors.
 *
 * src/home_feed_scan.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/nbtree.h"
#include "access/relation.h"
#include "access/table.h"
#include "storage/bufmgr.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "catalog/pg_am.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/primnodes.h"
#include "utils/acl.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "cruddur.h"

/* The columns read, by name and type; checked once per relcache change */
typedef struct Column
{
	const char *name;
	Oid			type;
} Column;

enum
{
	A_UUID, A_USER_UUID, A_MESSAGE, A_REPLIES_COUNT, A_REPOSTS_COUNT,
	A_LIKES_COUNT, A_REPLY_TO, A_EXPIRES_AT, A_CREATED_AT, A_NCOLUMNS
};

static const Column activities_columns[A_NCOLUMNS] = {
	[A_UUID] = {"uuid", UUIDOID},
	[A_USER_UUID] = {"user_uuid", UUIDOID},
	[A_MESSAGE] = {"message", TEXTOID},
	[A_REPLIES_COUNT] = {"replies_count", INT4OID},
	[A_REPOSTS_COUNT] = {"reposts_count", INT4OID},
	[A_LIKES_COUNT] = {"likes_count", INT4OID},
	[A_REPLY_TO] = {"reply_to_activity_uuid", UUIDOID},
	[A_EXPIRES_AT] = {"expires_at", TIMESTAMPOID},
	[A_CREATED_AT] = {"created_at", TIMESTAMPOID},
};

enum
{
	U_UUID, U_DISPLAY_NAME, U_HANDLE, U_NCOLUMNS
};

static const Column users_columns[U_NCOLUMNS] = {
	[U_UUID] = {"uuid", UUIDOID},
	[U_DISPLAY_NAME] = {"display_name", TEXTOID},
	[U_HANDLE] = {"handle", TEXTOID},
};

/*
 * The home feed's columns (the fields of its JSON object), as columns of
 * activities; A_USER_UUID marks the author's display_name and handle.
 */
static const int feed_columns[] = {
	A_UUID, A_USER_UUID, A_USER_UUID, A_MESSAGE, A_REPLIES_COUNT,
	A_REPOSTS_COUNT, A_LIKES_COUNT, A_REPLY_TO, A_EXPIRES_AT, A_CREATED_AT
};

/* The relations, in the order they are opened */
enum
{
	R_ACTIVITIES, R_HOME_FEED_IDX, R_USERS, R_USERS_PKEY, R_NRELATIONS
};

/*
 * What we know of the extension's relations in one schema, kept until a
 * relcache invalidation of any of them (or of everything) clears "valid".
 */
typedef struct HomeFeedRelations
{
	bool		valid;
	bool		usable;			/* all of them are as the scan needs */
	Oid			nspid;
	Oid			relids[R_NRELATIONS];
	AttrNumber	activities_attnums[A_NCOLUMNS];
	AttrNumber	users_attnums[U_NCOLUMNS];
} HomeFeedRelations;

static HomeFeedRelations rels_cache;
static bool callback_registered = false;

/*
 * The authors, one entry per person, kept by the backend across calls for
 * one users relation (emptied when its relcache entry is invalidated, and
 * when full).
 *
 * Within a call an entry is the author's display_name and handle, looked
 * up once however many of the page's cruds are theirs ("call" says which
 * call they were read in).  Across calls it keeps where the author's row
 * was found: the heap TID the primary key gave (the root of the row's HOT
 * chain).  That is only a hint: a row found there counts only if it is
 * visible to the snapshot and has the author's uuid, and then it is their
 * row (the primary key allows one visible row per uuid); otherwise
 * users_pkey is asked.  It spares a B-tree descent per author, most of a
 * page of 1000's author lookups.
 */
#define AUTHORS_MAX 8192

typedef struct Author
{
	pg_uuid_t	uuid;			/* key */
	ItemPointerData tid;		/* the hint; invalid until the index finds it */
	uint64		call;			/* the call the values below are of */
	bool		found;			/* false: no such person, the join drops the row */
	Datum		display_name;	/* in that call's memory context */
	Datum		handle;
} Author;

static HTAB *authors_map = NULL;
static Oid	authors_relid = InvalidOid;
static uint64 calls = 0;

static void
invalidate_relations(Datum arg, Oid relid)
{
	int			i;

	if (!OidIsValid(relid))
	{
		rels_cache.valid = false;
		authors_relid = InvalidOid;
		return;
	}
	for (i = 0; i < R_NRELATIONS; i++)
		if (rels_cache.relids[i] == relid)
			rels_cache.valid = false;
	if (relid == authors_relid)
		authors_relid = InvalidOid;
}

/*
 * The attribute numbers of "columns" in "rel", into "attnums"; false when
 * one is missing or of another type.
 */
static bool
find_columns(Relation rel, const Column *columns, int ncolumns,
			 AttrNumber *attnums)
{
	TupleDesc	desc = RelationGetDescr(rel);
	int			c;
	int			i;

	for (c = 0; c < ncolumns; c++)
	{
		attnums[c] = InvalidAttrNumber;
		for (i = 0; i < desc->natts; i++)
		{
			Form_pg_attribute att = TupleDescAttr(desc, i);

			if (!att->attisdropped &&
				strcmp(NameStr(att->attname), columns[c].name) == 0)
			{
				if (att->atttypid != columns[c].type)
					return false;
				attnums[c] = att->attnum;
				break;
			}
		}
		if (attnums[c] == InvalidAttrNumber)
			return false;
	}
	return true;
}

/*
 * Whether "index" is a valid plain B-tree of "heap" on exactly the columns
 * "attnums" (with the default operator class of "types", descending when
 * "descending"), so that scanning it yields those columns' order.
 */
static bool
index_is(Relation index, Oid heap, int nkeys, const AttrNumber *attnums,
		 const Oid *types, bool descending)
{
	Form_pg_index form = index->rd_index;
	int			i;

	if (index->rd_rel->relam != BTREE_AM_OID || form->indrelid != heap ||
		!form->indisvalid || !form->indimmediate ||
		form->indnkeyatts != nkeys)
		return false;
	for (i = 0; i < nkeys; i++)
	{
		if (form->indkey.values[i] != attnums[i] ||
			index->rd_opfamily[i] !=
			get_opclass_family(GetDefaultOpClass(types[i], BTREE_AM_OID)) ||
			((index->rd_indoption[i] & INDOPTION_DESC) != 0) != descending)
			return false;
	}
	return true;
}

/*
 * Whether the home feed index's predicate keeps every top-level crud: none,
 * or reply_to_activity_uuid IS NULL as the install script writes it.  (The
 * scan checks reply_to_activity_uuid itself either way.)
 */
static bool
predicate_keeps_top_level(Relation index, AttrNumber reply_to)
{
	List	   *predicate = RelationGetIndexPredicate(index);
	NullTest   *test;

	if (predicate == NIL)
		return true;
	if (list_length(predicate) != 1 || !IsA(linitial(predicate), NullTest))
		return false;
	test = linitial_node(NullTest, predicate);
	return test->nulltesttype == IS_NULL && !test->argisrow &&
		IsA(test->arg, Var) && ((Var *) test->arg)->varattno == reply_to;
}

/*
 * Look the relations up in "nspid" and check them, filling rels_cache.
 * Takes AccessShareLock on each, as the query would.
 */
static void
fill_relations(Oid nspid)
{
	static const Oid home_types[] = {TIMESTAMPOID, UUIDOID};
	static const Oid pkey_types[] = {UUIDOID};
	HomeFeedRelations *c = &rels_cache;
	Relation	rel[R_NRELATIONS] = {NULL};
	AttrNumber	home_keys[2];
	int			i;

	if (!callback_registered)
	{
		CacheRegisterRelcacheCallback(invalidate_relations, (Datum) 0);
		callback_registered = true;
	}

	/*
	 * Valid from here: an invalidation that arrives while we fill (taking a
	 * lock reads them) clears it again, and the next call fills anew.
	 */
	memset(c, 0, sizeof(*c));
	c->valid = true;
	c->nspid = nspid;
	c->relids[R_ACTIVITIES] = get_relname_relid("activities", nspid);
	c->relids[R_HOME_FEED_IDX] = get_relname_relid("activities_home_feed_idx",
												   nspid);
	c->relids[R_USERS] = get_relname_relid("users", nspid);
	if (!OidIsValid(c->relids[R_ACTIVITIES]) ||
		!OidIsValid(c->relids[R_HOME_FEED_IDX]) ||
		!OidIsValid(c->relids[R_USERS]))
		return;

	rel[R_ACTIVITIES] = try_relation_open(c->relids[R_ACTIVITIES],
										  AccessShareLock);
	rel[R_USERS] = try_relation_open(c->relids[R_USERS], AccessShareLock);
	if (rel[R_ACTIVITIES] == NULL || rel[R_USERS] == NULL ||
		rel[R_ACTIVITIES]->rd_rel->relkind != RELKIND_RELATION ||
		rel[R_USERS]->rd_rel->relkind != RELKIND_RELATION ||
		!find_columns(rel[R_ACTIVITIES], activities_columns, A_NCOLUMNS,
					  c->activities_attnums) ||
		!find_columns(rel[R_USERS], users_columns, U_NCOLUMNS,
					  c->users_attnums))
		goto done;

	c->relids[R_USERS_PKEY] = RelationGetPrimaryKeyIndex(rel[R_USERS]);
	if (!OidIsValid(c->relids[R_USERS_PKEY]))
		goto done;
	rel[R_HOME_FEED_IDX] = try_relation_open(c->relids[R_HOME_FEED_IDX],
											 AccessShareLock);
	rel[R_USERS_PKEY] = try_relation_open(c->relids[R_USERS_PKEY],
										  AccessShareLock);
	home_keys[0] = c->activities_attnums[A_CREATED_AT];
	home_keys[1] = c->activities_attnums[A_UUID];
	if (rel[R_HOME_FEED_IDX] == NULL || rel[R_USERS_PKEY] == NULL ||
		!index_is(rel[R_HOME_FEED_IDX], c->relids[R_ACTIVITIES], 2,
				  home_keys, home_types, true) ||
		!predicate_keeps_top_level(rel[R_HOME_FEED_IDX],
								   c->activities_attnums[A_REPLY_TO]) ||
		!index_is(rel[R_USERS_PKEY], c->relids[R_USERS], 1,
				  &c->users_attnums[U_UUID], pkey_types, false))
		goto done;

	c->usable = true;

done:
	for (i = 0; i < R_NRELATIONS; i++)
		if (rel[i] != NULL)
			relation_close(rel[i], NoLock);
}

/*
 * Open the relations of schema "nspid" with AccessShareLock into "rel", or
 * return false when they are not usable by the scan.
 */
static bool
open_relations(Oid nspid, Relation *rel)
{
	int			i;

	for (;;)
	{
		bool		opened = true;

		if (!rels_cache.valid || rels_cache.nspid != nspid)
			fill_relations(nspid);
		if (!rels_cache.usable)
			return false;

		for (i = 0; i < R_NRELATIONS; i++)
		{
			rel[i] = try_relation_open(rels_cache.relids[i], AccessShareLock);
			opened &= (rel[i] != NULL);
		}
		/* taking the locks read invalidations: is what we know still so? */
		if (opened && rels_cache.valid)
			return true;
		for (i = 0; i < R_NRELATIONS; i++)
			if (rel[i] != NULL)
				relation_close(rel[i], NoLock);
		rels_cache.valid = false;
	}
}

/* Whether the current user's query would read "rel" with no more checks */
static bool
readable_as_whole(Relation rel)
{
	return !rel->rd_rel->relrowsecurity && !rel->rd_rel->relhassubclass &&
		pg_class_aclcheck(RelationGetRelid(rel), GetUserId(),
						  ACL_SELECT) == ACLCHECK_OK;
}

/* What a call needs to look its authors up */
typedef struct Authors
{
	Relation	rel;
	const AttrNumber *attnums;
	TupleTableSlot *slot;
	IndexScanDesc scan;			/* of users_pkey */
	IndexFetchTableData *fetch; /* of users, for the hints */
	BlockNumber nblocks;		/* of users, InvalidBlockNumber until needed */
} Authors;

/* Whether the row at the author's hint is their visible row, into the slot */
static bool
fetch_hinted(Authors *authors, Author *author)
{
	bool		call_again = false;
	bool		isnull;
	Datum		value;

	if (!ItemPointerIsValid(&author->tid))
		return false;

	/*
	 * Past the end is an error to read.  VACUUM's truncation is followed by
	 * an invalidation that empties the map, so this is only a guard; the
	 * table cannot shrink while we hold our lock.
	 */
	if (authors->nblocks == InvalidBlockNumber)
		authors->nblocks = RelationGetNumberOfBlocks(authors->rel);
	if (ItemPointerGetBlockNumber(&author->tid) >= authors->nblocks ||
		!table_index_fetch_tuple(authors->fetch, &author->tid,
								 GetActiveSnapshot(), authors->slot,
								 &call_again, NULL))
		return false;
	value = slot_getattr(authors->slot, authors->attnums[U_UUID], &isnull);
	return !isnull && memcmp(DatumGetUUIDP(value)->data, author->uuid.data,
							 UUID_LEN) == 0;
}

/* The author of uuid, read once per call: by the hint, else in users_pkey */
static Author *
find_author(Authors *authors, const pg_uuid_t *uuid)
{
	Author	   *author;
	bool		known;

	if (authors_map == NULL ||
		authors_relid != RelationGetRelid(authors->rel) ||
		hash_get_num_entries(authors_map) >= AUTHORS_MAX)
	{
		HASHCTL		ctl;

		if (authors_map != NULL)
			hash_destroy(authors_map);
		ctl.keysize = sizeof(pg_uuid_t);
		ctl.entrysize = sizeof(Author);
		authors_map = hash_create("cruddur authors", 1024, &ctl,
								  HASH_ELEM | HASH_BLOBS);
		authors_relid = RelationGetRelid(authors->rel);
	}

	author = hash_search(authors_map, uuid, HASH_ENTER, &known);
	if (!known)
		ItemPointerSetInvalid(&author->tid);
	else if (author->call == calls)
		return author;
	author->call = calls;

	author->found = fetch_hinted(authors, author);
	if (!author->found)
	{
		ScanKeyData key;

		ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_UUID_EQ,
					UUIDPGetDatum(&author->uuid));
		index_rescan(authors->scan, &key, 1, NULL, 0);
		author->found = index_getnext_slot(authors->scan,
										   ForwardScanDirection,
										   authors->slot);
		if (author->found)
			author->tid = authors->scan->xs_heaptid;
	}
	if (author->found)
	{
		bool		isnull;

		/* NOT NULL columns; copied, as the slot lets go of its buffer */
		author->display_name =
			datumCopy(slot_getattr(authors->slot,
								   authors->attnums[U_DISPLAY_NAME], &isnull),
					  false, -1);
		author->handle =
			datumCopy(slot_getattr(authors->slot,
								   authors->attnums[U_HANDLE], &isnull),
					  false, -1);
		ExecClearTuple(authors->slot);
	}
	return author;
}

/*
 * Append a home feed page to "buf" as the saved plan would: at most
 * "page_size" objects of shape "object" (whose fields are the home feed's
 * columns), separated by commas, newest first; after the cursor
 * (before_created_at, before_uuid) when "cursor" is given.  "now" is the
 * current time in UTC.  Returns false, having done nothing, when the scan
 * cannot serve (see the top of this file).
 */
bool
home_feed_scan(Oid nspid, int page_size, const Datum *cursor, Timestamp now,
			   StringInfo buf, const JsonObject *object)
{
	Relation	rel[R_NRELATIONS];
	const AttrNumber *att = rels_cache.activities_attnums;
	Timestamp	before_created_at = 0;
	const pg_uuid_t *before_uuid = NULL;
	ScanKeyData key;
	IndexScanDesc scan;
	TupleTableSlot *slot;
	Authors		authors;
	int			nrows = 0;
	int			i;

	Assert(object->nfields == lengthof(feed_columns));

	if (ExecutorCheckPerms_hook != NULL || !ActiveSnapshotSet() ||
		!open_relations(nspid, rel))
		return false;
	if (!readable_as_whole(rel[R_ACTIVITIES]) ||
		!readable_as_whole(rel[R_USERS]))
	{
		for (i = 0; i < R_NRELATIONS; i++)
			relation_close(rel[i], NoLock);
		return false;
	}

	/* a new call: every author's values are to be read again */
	calls++;
	authors.rel = rel[R_USERS];
	authors.attnums = rels_cache.users_attnums;
	authors.slot = table_slot_create(rel[R_USERS], NULL);
	authors.scan = index_beginscan(rel[R_USERS], rel[R_USERS_PKEY],
								   GetActiveSnapshot(), 1, 0);
	authors.fetch = table_index_fetch_begin(rel[R_USERS]);
	authors.nblocks = InvalidBlockNumber;

	slot = table_slot_create(rel[R_ACTIVITIES], NULL);
	scan = index_beginscan(rel[R_ACTIVITIES], rel[R_HOME_FEED_IDX],
						   GetActiveSnapshot(), cursor ? 1 : 0, 0);
	if (cursor)
	{
		/*
		 * created_at <= the cursor's positions the scan; the rows of that
		 * same created_at not strictly after the cursor are skipped below.
		 */
		before_created_at = DatumGetTimestamp(cursor[0]);
		before_uuid = DatumGetUUIDP(cursor[1]);
		ScanKeyInit(&key, 1, BTLessEqualStrategyNumber, F_TIMESTAMP_LE,
					cursor[0]);
	}
	index_rescan(scan, cursor ? &key : NULL, cursor ? 1 : 0, NULL, 0);

	while (nrows < page_size &&
		   index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		Datum		values[lengthof(feed_columns)];
		bool		nulls[lengthof(feed_columns)];
		Author	   *author;

		CHECK_FOR_INTERRUPTS();
		slot_getallattrs(slot);

#define COLUMN(c) (slot->tts_values[att[c] - 1])
#define ISNULL(c) (slot->tts_isnull[att[c] - 1])
		/* a reply, or expired */
		if (!ISNULL(A_REPLY_TO) ||
			(!ISNULL(A_EXPIRES_AT) &&
			 DatumGetTimestamp(COLUMN(A_EXPIRES_AT)) <= now))
			continue;
		/* not strictly after the cursor (the key let equal ones through) */
		if (cursor &&
			DatumGetTimestamp(COLUMN(A_CREATED_AT)) == before_created_at &&
			memcmp(DatumGetUUIDP(COLUMN(A_UUID))->data, before_uuid->data,
				   UUID_LEN) >= 0)
			continue;

		/* the join: no author, no row */
		if (ISNULL(A_USER_UUID))
			continue;
		author = find_author(&authors, DatumGetUUIDP(COLUMN(A_USER_UUID)));
		if (!author->found)
			continue;

		/* the home feed's columns, in order */
		for (i = 0; i < lengthof(feed_columns); i++)
		{
			if (feed_columns[i] == A_USER_UUID)
				continue;		/* the author's, below */
			values[i] = COLUMN(feed_columns[i]);
			nulls[i] = ISNULL(feed_columns[i]);
		}
		values[1] = author->display_name;
		values[2] = author->handle;
		nulls[1] = nulls[2] = false;
#undef COLUMN
#undef ISNULL

		if (nrows++ > 0)
			appendStringInfoCharMacro(buf, ',');
		json_append_object(buf, object, values, nulls);
	}

	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	index_endscan(authors.scan);
	table_index_fetch_end(authors.fetch);
	ExecDropSingleTupleTableSlot(authors.slot);
	for (i = 0; i < R_NRELATIONS; i++)
		relation_close(rel[i], NoLock);
	return true;
}
