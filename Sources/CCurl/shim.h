// Typed wrappers around libcurl's variadic functions, which Swift cannot call.
// A system-library target holds no .c files, so the wrappers stay inline here.
#ifndef LATCHKEY_CCURL_SHIM_H
#define LATCHKEY_CCURL_SHIM_H

#include <curl/curl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

typedef size_t (*latchkey_curl_data_callback)(char *ptr, size_t size, size_t nmemb, void *userdata);

static inline CURLcode latchkey_easy_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode latchkey_easy_setopt_string(CURL *h, CURLoption o, const char *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode latchkey_easy_setopt_pointer(CURL *h, CURLoption o, void *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode latchkey_easy_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode latchkey_easy_setopt_off_t(CURL *h, CURLoption o, curl_off_t v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode latchkey_easy_setopt_callback(CURL *h, CURLoption o, latchkey_curl_data_callback v) { return curl_easy_setopt(h, o, v); }

static inline CURLcode latchkey_easy_getinfo_long(CURL *h, CURLINFO i, long *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode latchkey_easy_getinfo_pointer(CURL *h, CURLINFO i, void **v) { return curl_easy_getinfo(h, i, v); }

typedef curl_socket_t (*latchkey_curl_opensocket_callback)(void *clientp, curlsocktype purpose, struct curl_sockaddr *address);
static inline CURLcode latchkey_easy_setopt_opensocket(CURL *h, latchkey_curl_opensocket_callback v) {
    return curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, v);
}
static const curl_socket_t latchkey_socket_bad = CURL_SOCKET_BAD;

/// Copies the address of a curl_sockaddr into `out` (16 bytes): 4 bytes for IPv4, 16 for IPv6; returns how many, or 0.
static inline int latchkey_sockaddr_bytes(struct curl_sockaddr *a, unsigned char *out) {
    if (a->family == AF_INET) { memcpy(out, &((struct sockaddr_in *)&a->addr)->sin_addr, 4); return 4; }
    if (a->family == AF_INET6) { memcpy(out, &((struct sockaddr_in6 *)&a->addr)->sin6_addr, 16); return 16; }
    return 0;
}

/// The socket curl would have opened itself.
static inline curl_socket_t latchkey_open_socket(struct curl_sockaddr *a) { return socket(a->family, a->socktype, a->protocol); }

/// Return values of write and read callbacks, as constants Swift can see.
static const size_t latchkey_writefunc_pause = CURL_WRITEFUNC_PAUSE;
static const size_t latchkey_readfunc_pause = CURL_READFUNC_PAUSE;
static const size_t latchkey_readfunc_abort = CURL_READFUNC_ABORT;

/// Unpauses a transfer paused by a callback, in both directions.
static inline CURLcode latchkey_easy_unpause(CURL *h) { return curl_easy_pause(h, CURLPAUSE_CONT); }

/// Sets a blob option (CAINFO_BLOB); curl copies the bytes before returning.
static inline CURLcode latchkey_easy_setopt_blob(CURL *h, CURLoption o, const void *data, size_t length) {
    struct curl_blob blob = { (void *)data, length, CURL_BLOB_COPY };
    return curl_easy_setopt(h, o, &blob);
}

static inline CURLMcode latchkey_multi_setopt_long(CURLM *m, CURLMoption o, long v) { return curl_multi_setopt(m, o, v); }

/// The easy handle and result of a finished transfer, read from a CURLMsg (whose union Swift cannot see).
static inline int latchkey_multi_info_done(CURLMsg *msg, CURL **easy, CURLcode *result) {
    if (msg->msg != CURLMSG_DONE) { return 0; }
    *easy = msg->easy_handle;
    *result = msg->data.result;
    return 1;
}

#endif
