// HERALD_TEST_SANITIZED: defined when the test is built under AddressSanitizer or
// ThreadSanitizer, for tests whose memory or timing bounds a sanitizer changes.
#ifndef HERALD_TESTS_SUPPORT_SANITIZED_HPP
#define HERALD_TESTS_SUPPORT_SANITIZED_HPP

// GCC says __SANITIZE_*__; Clang before 22 only __has_feature.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define HERALD_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define HERALD_TEST_SANITIZED 1
#endif
#endif

#endif
