//go:build tools

// The Jaeger all-in-one of the local observability stack, pinned by go.mod and go.sum and built by
// scripts/tools.ts (node scripts/tools.ts jaeger).
package tools

import _ "github.com/jaegertracing/jaeger/cmd/all-in-one"
