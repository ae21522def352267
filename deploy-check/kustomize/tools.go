//go:build tools

// Pins the kustomize CLI; scripts/deploy-check.sh builds it with `go build sigs.k8s.io/kustomize/kustomize/v5`.
package tools

import _ "sigs.k8s.io/kustomize/kustomize/v5"
