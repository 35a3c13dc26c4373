// zlib, and the things Swift cannot call directly: its init functions are macros (they pass
// the library version and the struct size). No logic lives here.
#ifndef CZLIB_H
#define CZLIB_H

#include <zlib.h>

// permessage-deflate (RFC 7692) uses raw deflate: negative window bits, no zlib header.
static inline int czlib_inflate_init_raw(z_stream *s, int window_bits) {
    return inflateInit2(s, -window_bits);
}
static inline int czlib_deflate_init_raw(z_stream *s, int level, int window_bits) {
    // memLevel 8 is zlib's default; window bits 8 is not allowed by zlib for raw deflate, use 9.
    return deflateInit2(s, level, Z_DEFLATED, -(window_bits < 9 ? 9 : window_bits), 8, Z_DEFAULT_STRATEGY);
}

// HTTP content codings (RFC 9110 8.4.1): `gzip` is deflate in a gzip wrapper (window bits + 16),
// `deflate` is deflate in a zlib wrapper (RFC 1950), both with the full 32 KiB window.
static inline int czlib_deflate_init_http(z_stream *s, int level, int gzip) {
    return deflateInit2(s, level, Z_DEFLATED, gzip ? 15 + 16 : 15, 8, Z_DEFAULT_STRATEGY);
}

#endif
