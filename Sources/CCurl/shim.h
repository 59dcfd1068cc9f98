#include <curl/curl.h>

// curl_easy_setopt and curl_easy_getinfo are variadic macros/functions Swift cannot call: one typed
// wrapper per argument kind.
static inline CURLcode cdctop_curl_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode cdctop_curl_setopt_string(CURL *h, CURLoption o, const char *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode cdctop_curl_setopt_pointer(CURL *h, CURLoption o, void *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode cdctop_curl_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v) { return curl_easy_setopt(h, o, v); }
typedef size_t (*cdctop_curl_write_fn)(char *, size_t, size_t, void *);
static inline CURLcode cdctop_curl_setopt_write(CURL *h, CURLoption o, cdctop_curl_write_fn v) { return curl_easy_setopt(h, o, v); }
typedef int (*cdctop_curl_progress_fn)(void *, curl_off_t, curl_off_t, curl_off_t, curl_off_t);
static inline CURLcode cdctop_curl_setopt_progress(CURL *h, CURLoption o, cdctop_curl_progress_fn v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode cdctop_curl_response_code(CURL *h, long *code) { return curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, code); }
