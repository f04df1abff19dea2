//go:build tools

package tools

import (
	_ "github.com/VictoriaMetrics/VictoriaMetrics/app/victoria-metrics"
	_ "github.com/VictoriaMetrics/VictoriaMetrics/app/vmalert"
	_ "github.com/VictoriaMetrics/VictoriaMetrics/app/vmalert-tool"
)
