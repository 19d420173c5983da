// Package plan is the scenario interpreter: a scenario in Go terms (Plan,
// with workspaces, groups and timed Steps), the World of names it runs on,
// and the runs that turn it into the platform's events. The scenarios
// package builds plans from YAML; the generator package owns the platform.
//
// A run changes the world only through generator.Platform.Do: a whole
// scenario (World.Run) is one change, a played one (World.Play) one change
// per stretch between two waits. The names it adds (workspaces, users,
// tokens, groups by key) are journaled with that change, so a refused run
// leaves no trace, and a dry run (World.DryRun) gives the real verdict.
package plan
