package server

import "github.com/paperperps/exchange/engine"

// Duration is a time.Duration written in JSON as a Go duration string
// ("250ms", "8h").
type Duration = engine.Duration
