// Command compose-check loads Compose files with compose-go, the library `docker compose` itself
// uses to read them: schema validation against the Compose Specification, interpolation,
// normalisation (extends, env_file, defaults) and the consistency checks (unknown networks,
// volumes, depends_on targets…) all run exactly as they would before `docker compose up`.
//
// It prints the resolved project as JSON, so tests can inspect what compose would run rather
// than the YAML as written. Any warning the loader emits (an unset variable silently becoming
// "", an obsolete attribute) is an error here: a file that only works with a warning is a bug.
//
// Usage: compose-check [-env NAME=VALUE]... compose.yaml [override.yaml...]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/sirupsen/logrus"
)

type envFlags []string

func (e *envFlags) String() string     { return strings.Join(*e, ",") }
func (e *envFlags) Set(v string) error { *e = append(*e, v); return nil }

// warnings turns every loader warning into a recorded failure.
type warnings struct{ messages []string }

func (w *warnings) Levels() []logrus.Level {
	return []logrus.Level{logrus.PanicLevel, logrus.FatalLevel, logrus.ErrorLevel, logrus.WarnLevel}
}

func (w *warnings) Fire(entry *logrus.Entry) error {
	w.messages = append(w.messages, entry.Message)
	return nil
}

func main() {
	var env envFlags
	flag.Var(&env, "env", "NAME=VALUE available to ${…} interpolation (repeatable); the process environment is never used")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: compose-check [-env NAME=VALUE]... compose.yaml [override.yaml...]")
		os.Exit(2)
	}

	collected := &warnings{}
	logrus.AddHook(collected)
	logrus.SetOutput(os.Stderr)

	first, err := filepath.Abs(flag.Arg(0))
	if err != nil {
		fail(err)
	}
	// Only the -env values are visible to interpolation, so the result does not depend on
	// whoever runs the check; the working directory is the first file's, as for docker compose -f.
	opts, err := cli.NewProjectOptions(flag.Args(),
		cli.WithWorkingDirectory(filepath.Dir(first)),
		cli.WithEnv(env),
		cli.WithInterpolation(true),
		cli.WithNormalization(true),
		cli.WithConsistency(true),
		cli.WithResolvedPaths(true),
	)
	if err != nil {
		fail(err)
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		fail(err)
	}
	if len(collected.messages) > 0 {
		fail(fmt.Errorf("the compose loader warned:\n  %s", strings.Join(collected.messages, "\n  ")))
	}
	out, err := project.MarshalJSON()
	if err != nil {
		fail(err)
	}
	os.Stdout.Write(out)
	os.Stdout.WriteString("\n")
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "compose-check: %v\n", err)
	os.Exit(1)
}
