//go:build tools

// Package tools pins module dependencies that are used by code not yet importing them
// everywhere (go mod tidy keeps build-tagged imports).
package tools

import (
	_ "github.com/gopacket/gopacket/layers"
	_ "github.com/gopacket/gopacket/pcapgo"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/prometheus/common/expfmt"
	_ "github.com/spf13/cobra"
	_ "github.com/spf13/viper"
	_ "github.com/stretchr/testify/require"
	_ "go.uber.org/zap"
	_ "gonum.org/v1/plot"
)
