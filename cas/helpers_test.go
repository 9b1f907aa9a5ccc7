package cas_test

import "context"

var nilCtx = context.Background()
