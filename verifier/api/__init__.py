"""The HTTP interface of SPEC §5, apart from the domain: views by resource (claims_read.py,
claims_write.py, sources.py), their serializers, keyset pagination, throttles, the mapping of
DomainError to status codes (errors.py) and the public response cache with its ETags
(http_cache.py). Views parse, call one service or selector, and render."""
