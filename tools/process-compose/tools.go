//go:build tools

package tools

import _ "github.com/f1bonacc1/process-compose"
