/*-------------------------------------------------------------------------
 *
 * json_writer_fuzz.c
 *	  libFuzzer harness of the backend-free half of src/json_writer.c:
 *	  text escaping, uuid and timestamp formatting, raw appends and the
 *	  json result buffer, compared byte for byte with a plain reference
 *	  written from the JSON specification.
 *
 * An input is a little program: one byte choosing how the buffer starts
 * (json_result_init with a size hint, or initStringInfo), then operations,
 * each an opcode byte, a 16-bit length and that many payload bytes:
 *
 *	 0	json_append_text(payload)	any bytes, NUL and invalid UTF-8 included
 *	 1	json_append_uuid(payload)	16 bytes, zero-padded
 *	 2	json_append_raw(payload)	bytes as they are
 *	 3	json_append_timestamp		8 bytes: any valid timestamp; 1 to 7
 *									bytes: the previous one plus that many
 *									bytes of signed offset in microseconds
 *									or (flag 2) days, to come back to a day
 *									or near one already formatted; none: an
 *									infinity
 *
 * After every operation the buffer must equal what the reference wrote so
 * far, and the text written by json_append_text must decode, by an
 * independent RFC 8259 string decoder, to exactly the payload; a uuid must
 * read back to its 16 bytes; a timestamp must be what
 * reference_timestamp.c writes.  At the end a json_result_init buffer must be
 * a varlena of the right size holding the same text.  Any difference
 * aborts, which libFuzzer reports as a crash with the input that caused it;
 * AddressSanitizer reports any out-of-bounds write of the growing buffer.
 *
 * test/fuzz/libfuzzer/json_writer_fuzz.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <stdio.h>
#include <stdlib.h>

#include "lib/stringinfo.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

#include "json_writer.h"
#include "reference_timestamp.h"

int			LLVMFuzzerTestOneInput(const uint8 *data, size_t size);

/* The reference output, grown with realloc: nothing shared with the code under test */
typedef struct Ref
{
	char	   *data;
	size_t		len;
	size_t		cap;
} Ref;

static void
ref_byte(Ref *r, char c)
{
	if (r->len + 1 > r->cap)
	{
		r->cap = r->cap ? 2 * r->cap : 256;
		r->data = realloc(r->data, r->cap);
		if (r->data == NULL)
			abort();
	}
	r->data[r->len++] = c;
}

static void
ref_bytes(Ref *r, const char *s, size_t n)
{
	size_t		i;

	for (i = 0; i < n; i++)
		ref_byte(r, s[i]);
}

/*
 * A JSON string as RFC 8259 section 7 defines it: quotation mark, reverse
 * solidus and the control characters U+0000 to U+001F must be escaped,
 * everything else may appear as it is.  Where the RFC leaves a choice,
 * row_to_json's (escape_json in core's json.c): the two-character escapes
 * \" \\ \b \f \n \r \t, and \u00xx in lower-case hex for the other control
 * characters; other bytes, non-ASCII included, verbatim.
 */
static void
ref_string(Ref *r, const uint8 *s, size_t n)
{
	size_t		i;
	char		esc[8];

	ref_byte(r, '"');
	for (i = 0; i < n; i++)
	{
		switch (s[i])
		{
			case '"':
				ref_bytes(r, "\\\"", 2);
				break;
			case '\\':
				ref_bytes(r, "\\\\", 2);
				break;
			case '\b':
				ref_bytes(r, "\\b", 2);
				break;
			case '\f':
				ref_bytes(r, "\\f", 2);
				break;
			case '\n':
				ref_bytes(r, "\\n", 2);
				break;
			case '\r':
				ref_bytes(r, "\\r", 2);
				break;
			case '\t':
				ref_bytes(r, "\\t", 2);
				break;
			default:
				if (s[i] < 0x20)
				{
					snprintf(esc, sizeof(esc), "\\u%04x", s[i]);
					ref_bytes(r, esc, 6);
				}
				else
					ref_byte(r, (char) s[i]);
		}
	}
	ref_byte(r, '"');
}

/* uuid_out's form: 8-4-4-4-12 lower-case hex digits, quoted */
static void
ref_uuid(Ref *r, const uint8 *u)
{
	char		out[40];

	snprintf(out, sizeof(out),
			 "\"%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x\"",
			 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7],
			 u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
	ref_bytes(r, out, 38);
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Decode the JSON string at s[0..n) by RFC 8259's grammar alone and check
 * that it is exactly one string holding the bytes "want".  Only escapes of
 * code points below U+0080 can come from one byte, so any other \u escape
 * is a failure here.
 */
static bool
decodes_to(const char *s, size_t n, const uint8 *want, size_t wantlen)
{
	size_t		i = 1,
				k = 0;

	if (n < 2 || s[0] != '"' || s[n - 1] != '"')
		return false;
	while (i < n - 1)
	{
		uint8		c = (uint8) s[i];
		int			b;

		if (c < 0x20 || c == '"')
			return false;		/* must have been escaped */
		if (c != '\\')
			b = c, i++;
		else
		{
			if (i + 1 >= n - 1)
				return false;
			switch (s[i + 1])
			{
				case '"':
				case '\\':
				case '/':
					b = s[i + 1];
					break;
				case 'b':
					b = '\b';
					break;
				case 'f':
					b = '\f';
					break;
				case 'n':
					b = '\n';
					break;
				case 'r':
					b = '\r';
					break;
				case 't':
					b = '\t';
					break;
				case 'u':
					{
						int			j,
									v = 0;

						if (i + 6 > n - 1)
							return false;
						for (j = 2; j < 6; j++)
						{
							int			h = hexval(s[i + j]);

							if (h < 0)
								return false;
							v = v * 16 + h;
						}
						if (v >= 0x80)
							return false;
						b = v;
						i += 4;
						break;
					}
				default:
					return false;
			}
			i += 2;
		}
		if (k >= wantlen || want[k] != b)
			return false;
		k++;
	}
	return k == wantlen;
}

/* Whether the buffer, past its first "base" bytes, holds the reference */
static bool
same(const StringInfo buf, size_t base, const Ref *ref)
{
	return (size_t) buf->len == base + ref->len &&
		memcmp(buf->data + base, ref->data, ref->len) == 0;
}

static void
mismatch(const char *what, const StringInfo buf, size_t base, const Ref *ref)
{
	size_t		i;

	for (i = 0; i < ref->len && base + i < (size_t) buf->len; i++)
		if (buf->data[base + i] != ref->data[i])
			break;
	fprintf(stderr, "json_writer mismatch: %s (buffer %zu bytes, reference %zu, first difference at %zu)\n",
			what, buf->len - base, ref->len, i);
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8 *data, size_t size)
{
	StringInfoData buf;
	Ref			ref = {0};
	bool		result_buffer;
	size_t		base;
	size_t		pos = 0;
	Timestamp	last = 0;

	if (size < 3)
		return 0;
	ref.cap = 256;
	ref.data = malloc(ref.cap);
	if (ref.data == NULL)
		abort();

	/* how the buffer starts: json_result_init with a size hint, or plain */
	result_buffer = (data[0] & 1) != 0;
	if (result_buffer)
	{
		json_result_init(&buf, (data[1] | data[2] << 8) & 0x7fff);
		base = VARHDRSZ;
	}
	else
	{
		initStringInfo(&buf);
		base = 0;
	}
	if (!same(&buf, base, &ref))
		mismatch("initial length", &buf, base, &ref);
	pos = 3;

	while (pos + 3 <= size)
	{
		int			op = data[pos] % 4;
		int			flags = data[pos] / 4;
		size_t		len = data[pos + 1] | data[pos + 2] << 8;
		const uint8 *payload = data + pos + 3;
		size_t		start = ref.len;

		pos += 3;
		if (len > size - pos)
			len = size - pos;
		pos += len;

		switch (op)
		{
			case 0:
				json_append_text(&buf, (const char *) payload, (int) len);
				ref_string(&ref, payload, len);
				if (!same(&buf, base, &ref))
					mismatch("json_append_text", &buf, base, &ref);
				if (!decodes_to(buf.data + base + start, ref.len - start, payload, len))
					mismatch("json_append_text output does not decode to its input", &buf, base, &ref);
				break;
			case 1:
				{
					pg_uuid_t	u;
					int			i;

					memset(&u, 0, sizeof(u));
					memcpy(u.data, payload, Min(len, UUID_LEN));
					json_append_uuid(&buf, &u);
					ref_uuid(&ref, u.data);
					if (!same(&buf, base, &ref))
						mismatch("json_append_uuid", &buf, base, &ref);
					for (i = 0; i < UUID_LEN; i++)
					{
						/* hex pairs after the quote, skipping the four hyphens */
						int			at = 1 + 2 * i + (i >= 4) + (i >= 6) + (i >= 8) + (i >= 10);
						const char *p = buf.data + base + start + at;

						if (hexval(p[0]) * 16 + hexval(p[1]) != u.data[i])
							mismatch("json_append_uuid does not read back", &buf, base, &ref);
					}
					break;
				}
			case 2:
				json_append_raw(&buf, (const char *) payload, (int) len);
				ref_bytes(&ref, (const char *) payload, len);
				if (!same(&buf, base, &ref))
					mismatch("json_append_raw", &buf, base, &ref);
				break;
			case 3:
				{
					const uint64 range = (uint64) END_TIMESTAMP - (uint64) MIN_TIMESTAMP;
					uint64		v = 0;
					Timestamp	t;
					char		text[MAXDATELEN + 3];
					size_t		i;

					for (i = 0; i < Min(len, 8); i++)
						v |= (uint64) payload[i] << (8 * i);
					if (len == 0)
						t = (flags & 1) ? DT_NOBEGIN : DT_NOEND;
					else if (len >= 8)
						t = (Timestamp) ((uint64) MIN_TIMESTAMP + v % range);
					else
					{
						/* sign-extend the offset, add it, wrap into range (unsigned: no overflow) */
						int			shift = 64 - 8 * (int) len;
						int64		delta = (int64) (v << shift) >> shift;

						if (flags & 2)
							delta = (int64) ((uint64) delta * (uint64) USECS_PER_DAY);
						uint64		off = (uint64) last - (uint64) MIN_TIMESTAMP + (uint64) delta + range;

						t = (Timestamp) ((uint64) MIN_TIMESTAMP + off % range);
					}
					if (!TIMESTAMP_NOT_FINITE(t))
						last = t;
					json_append_timestamp(&buf, TimestampGetDatum(t));
					text[0] = '"';
					reference_timestamp(text + 1, t);
					strcat(text, "\"");
					ref_bytes(&ref, text, strlen(text));
					if (!same(&buf, base, &ref))
						mismatch("json_append_timestamp", &buf, base, &ref);
					break;
				}
		}
		if (buf.len >= buf.maxlen)
			mismatch("buffer length reached its allocation", &buf, base, &ref);
	}

	if (result_buffer)
	{
		struct varlena *v = (struct varlena *) DatumGetPointer(json_result_finish(&buf));

		if (VARSIZE(v) != VARHDRSZ + ref.len || memcmp(VARDATA(v), ref.data, ref.len) != 0)
			mismatch("json_result_finish", &buf, base, &ref);
	}

	pfree(buf.data);
	free(ref.data);
	return 0;
}
