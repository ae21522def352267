//go:build tools

// The nginx exporter of the local observability stack, pinned by go.mod and go.sum and built by
// scripts/tools.ts (node scripts/tools.ts nginx-exporter).
package tools

import _ "github.com/nginx/nginx-prometheus-exporter"
