// Command dockerfile-check reads Dockerfiles with BuildKit's own frontend, the code `docker build`
// runs, without a Docker engine or a registry:
//
//   - the build checks of `docker build --check` (BuildKit's linter rules), as warnings;
//   - the image configuration the build would produce for the final stage (USER, CMD,
//     ENTRYPOINT, WORKDIR, ENV, HEALTHCHECK, EXPOSE), computed by converting the Dockerfile to
//     LLB against an offline stand-in for the base image (an empty config: only what the
//     Dockerfile itself sets is reported);
//   - every COPY/ADD source from the build context, matched against the context with the
//     .dockerignore rules BuildKit applies (moby/patternmatcher; <Dockerfile>.dockerignore wins
//     over the context's .dockerignore), listing the files that would really be sent.
//
// Build arguments (-build-arg KEY=VALUE, repeatable, as `docker build --build-arg`) apply to every
// Dockerfile of the run: in the image configuration, and in COPY/ADD paths and WORKDIR.
//
// Usage: dockerfile-check -context DIR [-build-arg KEY=VALUE]... Dockerfile...   (prints one JSON document)
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
	digest "github.com/opencontainers/go-digest"
)

type source struct {
	Path string `json:"path"`
	// Files are the context files (slash paths relative to the context) this source sends.
	Files []string `json:"files"`
}

type copyOp struct {
	Instruction string   `json:"instruction"`
	From        string   `json:"from,omitempty"`
	Sources     []source `json:"sources"`
	Inline      []inline `json:"inline,omitempty"` // heredoc files
	Dest        string   `json:"dest"`
	Chown       string   `json:"chown,omitempty"`
	Workdir     string   `json:"workdir"`
	Line        int      `json:"line"`
}

type inline struct {
	Path string `json:"path"`
	Data string `json:"data"`
}

type stage struct {
	Name   string   `json:"name"`
	Base   string   `json:"base"`
	Copies []copyOp `json:"copies"`
	Runs   []string `json:"runs"`
}

type warning struct {
	Rule    string `json:"rule"`
	Message string `json:"message"`
	Line    int    `json:"line"`
}

type report struct {
	File         string            `json:"file"`
	BuildArgs    map[string]string `json:"buildArgs,omitempty"`
	Dockerignore string            `json:"dockerignore,omitempty"`
	Error        string            `json:"error,omitempty"`
	Warnings     []warning         `json:"warnings"`
	Stages       []stage           `json:"stages"`
	Image        json.RawMessage   `json:"image,omitempty"`
}

// offlineResolver stands in for the registry: every base image is an empty linux/amd64 image.
type offlineResolver struct{}

func (offlineResolver) ResolveImageConfig(_ context.Context, ref string, _ sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	config := []byte(`{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":[]}}`)
	return ref, digest.FromBytes(config), config, nil
}

type buildArgs map[string]string

func (b buildArgs) String() string { return fmt.Sprint(map[string]string(b)) }

func (b buildArgs) Set(kv string) error {
	k, v, ok := strings.Cut(kv, "=")
	if !ok {
		return fmt.Errorf("want KEY=VALUE, got %q", kv)
	}
	b[k] = v
	return nil
}

// expand substitutes the build arguments into a word as the Dockerfile frontend does.
func (b buildArgs) expand(word string) string {
	var env []string
	for k, v := range b {
		env = append(env, k+"="+v)
	}
	out, _, err := shell.NewLex('\\').ProcessWord(word, shell.EnvsFromSlice(env))
	if err != nil {
		return word
	}
	return out
}

func main() {
	contextDir := flag.String("context", ".", "build context directory")
	args := buildArgs{}
	flag.Var(args, "build-arg", "KEY=VALUE, as docker build --build-arg (repeatable)")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: dockerfile-check -context DIR [-build-arg KEY=VALUE]... Dockerfile...")
		os.Exit(2)
	}
	var reports []report
	for _, file := range flag.Args() {
		reports = append(reports, check(*contextDir, file, args))
	}
	out, err := json.MarshalIndent(reports, "", "  ")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Stdout.Write(append(out, '\n'))
}

func check(contextDir, file string, args buildArgs) report {
	r := report{File: file, Warnings: []warning{}, Stages: []stage{}}
	if len(args) > 0 {
		r.BuildArgs = args
	}
	dt, err := os.ReadFile(file)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	ctx := context.Background()
	sourceMap := llb.NewSourceMap(nil, file, "Dockerfile", dt)

	config := dockerui.Config{BuildArgs: args}
	opt := dockerfile2llb.ConvertOpt{Config: config, MetaResolver: offlineResolver{}, SourceMap: sourceMap}
	opt.Warn = func(rule, _, _, msg string, loc []parser.Range) {
		line := 0
		if len(loc) > 0 {
			line = loc[0].Start.Line
		}
		r.Warnings = append(r.Warnings, warning{Rule: rule, Message: msg, Line: line})
	}
	opt.AllStages = true
	if _, err := dockerfile2llb.Dockerfile2LLB(ctx, dt, opt); err != nil {
		r.Error = err.Error()
		return r
	}
	// A second conversion without the lint hook gives the final image's configuration.
	result, err := dockerfile2llb.Dockerfile2LLB(ctx, dt, dockerfile2llb.ConvertOpt{Config: config, MetaResolver: offlineResolver{}, SourceMap: sourceMap})
	if err != nil {
		r.Error = err.Error()
		return r
	}
	if r.Image, err = json.Marshal(result.Image); err != nil {
		r.Error = err.Error()
		return r
	}

	matcher, ignoreFile, err := dockerignore(contextDir, file)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	r.Dockerignore = ignoreFile
	files, err := contextFiles(contextDir, ignoreFile, matcher)
	if err != nil {
		r.Error = err.Error()
		return r
	}

	ast, err := parser.Parse(bytes.NewReader(dt))
	if err != nil {
		r.Error = err.Error()
		return r
	}
	stages, _, err := instructions.Parse(ast.AST, nil)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	for _, s := range stages {
		st := stage{Name: s.Name, Base: s.BaseName, Copies: []copyOp{}, Runs: []string{}}
		workdir := "/"
		for _, cmd := range s.Commands {
			switch c := cmd.(type) {
			case *instructions.WorkdirCommand:
				if p := args.expand(c.Path); path.IsAbs(p) {
					workdir = path.Clean(p)
				} else {
					workdir = path.Join(workdir, p)
				}
			case *instructions.CopyCommand:
				st.Copies = append(st.Copies, copyOf("COPY", c.From, c.Chown, args.expandPaths(c.SourcesAndDest), workdir, c.Location(), files))
			case *instructions.AddCommand:
				st.Copies = append(st.Copies, copyOf("ADD", "", c.Chown, args.expandPaths(c.SourcesAndDest), workdir, c.Location(), files))
			case *instructions.RunCommand:
				st.Runs = append(st.Runs, args.substitute(strings.Join(c.CmdLine, " ")))
			}
		}
		r.Stages = append(r.Stages, st)
	}
	return r
}

// substitute puts the values into a RUN command line where its shell would read the arguments
// ($K, ${K}), leaving the quoting as written.
func (b buildArgs) substitute(cmd string) string {
	for k, v := range b {
		cmd = regexp.MustCompile(`\$(\{`+regexp.QuoteMeta(k)+`\}|`+regexp.QuoteMeta(k)+`\b)`).ReplaceAllLiteralString(cmd, v)
	}
	return cmd
}

func (b buildArgs) expandPaths(sd instructions.SourcesAndDest) instructions.SourcesAndDest {
	out := sd
	out.DestPath = b.expand(sd.DestPath)
	out.SourcePaths = nil
	for _, p := range sd.SourcePaths {
		out.SourcePaths = append(out.SourcePaths, b.expand(p))
	}
	return out
}

func copyOf(instruction, from, chown string, sd instructions.SourcesAndDest, workdir string, loc []parser.Range, files []string) copyOp {
	op := copyOp{Instruction: instruction, From: from, Chown: chown, Dest: sd.DestPath, Workdir: workdir, Sources: []source{}}
	if len(loc) > 0 {
		op.Line = loc[0].Start.Line
	}
	for _, content := range sd.SourceContents {
		op.Inline = append(op.Inline, inline{Path: content.Path, Data: content.Data})
	}
	for _, p := range sd.SourcePaths {
		s := source{Path: p, Files: []string{}}
		if from == "" {
			s.Files = matching(p, files)
		}
		op.Sources = append(op.Sources, s)
	}
	return op
}

// matching lists the context files a COPY source selects: the file itself, everything under a
// directory, or what a wildcard matches (BuildKit's path.Match semantics, per path segment).
func matching(src string, files []string) []string {
	clean := strings.TrimPrefix(path.Clean("/"+filepath.ToSlash(src)), "/")
	out := []string{}
	for _, f := range files {
		if clean == "" || f == clean || strings.HasPrefix(f, clean+"/") {
			out = append(out, f)
			continue
		}
		// Wildcards: match the pattern against the file or one of its parent directories.
		for dir := f; dir != "."; dir = path.Dir(dir) {
			if ok, _ := path.Match(clean, dir); ok {
				out = append(out, f)
				break
			}
		}
	}
	return out
}

// dockerignore loads <Dockerfile>.dockerignore if present, else the context's .dockerignore.
func dockerignore(contextDir, dockerfile string) (*patternmatcher.PatternMatcher, string, error) {
	for _, candidate := range []string{dockerfile + ".dockerignore", filepath.Join(contextDir, ".dockerignore")} {
		f, err := os.Open(candidate)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		defer f.Close()
		patterns, err := ignorefile.ReadAll(f)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", candidate, err)
		}
		m, err := patternmatcher.New(patterns)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", candidate, err)
		}
		return m, candidate, nil
	}
	m, err := patternmatcher.New(nil)
	return m, "", err
}

var walked = map[string][]string{}

// contextFiles walks the context like BuildKit's file sync: an excluded directory is skipped
// whole unless an exception pattern (!…) could re-include something below it.
func contextFiles(root, ignoreFile string, m *patternmatcher.PatternMatcher) ([]string, error) {
	if files, ok := walked[ignoreFile]; ok {
		return files, nil
	}
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		excluded, err := m.MatchesOrParentMatches(rel)
		if err != nil {
			return err
		}
		if d.IsDir() {
			if excluded && !mayReinclude(m, rel) {
				return filepath.SkipDir
			}
			return nil
		}
		if !excluded {
			files = append(files, rel)
		}
		return nil
	})
	sort.Strings(files)
	walked[ignoreFile] = files
	return files, err
}

// mayReinclude tells whether some exception pattern could match a path below dir: its leading
// segments agree with dir's, or a wildcard makes that impossible to rule out.
func mayReinclude(m *patternmatcher.PatternMatcher, dir string) bool {
	dirParts := strings.Split(dir, "/")
	for _, p := range m.Patterns() {
		if !p.Exclusion() {
			continue
		}
		parts := strings.Split(p.String(), "/")
		for i, part := range parts {
			if strings.ContainsAny(part, "*?[\\") {
				return true
			}
			if i >= len(dirParts) {
				return true
			}
			if part != dirParts[i] {
				break
			}
			if i == len(parts)-1 {
				return true // the pattern names dir itself or one of its parents
			}
		}
	}
	return false
}
