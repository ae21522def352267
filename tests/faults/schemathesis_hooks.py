# Hooks for schemathesis (SCHEMATHESIS_HOOKS=schemathesis_hooks, see openapi-fuzz.test.ts).
import uuid

import schemathesis


@schemathesis.hook
def map_headers(ctx, headers):
    # The document's example Idempotency-Key would be sent with every create: the second create
    # with another body then gets 422 (key reused), and one after a DELETE gets the first
    # answer replayed (201 for a link deleted since). Both are the designed behaviour, tested in
    # create-service/test/idempotency.test.ts; here every create gets a key of its own.
    if headers is not None and "idempotency-key" in headers:
        headers["idempotency-key"] = uuid.uuid4().hex
    return headers
