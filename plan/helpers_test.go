package plan_test

import "time"

var t0 = time.Date(2025, 1, 23, 8, 46, 32, 0, time.UTC)
