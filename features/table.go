package features

import (
	"context"
	"fmt"
	"strings"

	"github.com/cucumber/godog"
)

// tableSteps are the steps that bring a SIM from Issued to the status a
// table row asks for, each with its events, as on the platform.
var tableSteps = map[string][]string{
	"issued":       nil,
	"activated":    {"activate"},
	"suspended":    {"activate", "suspend"},
	"factory test": {"factory-test"},
	"deleted":      {"delete"},
}

// workspaceFromTable runs a scenario made from a Gherkin table of SIMs: a
// row per SIM with its status (Issued, Activated, Suspended, Factory Test,
// Deleted) and, optionally, the device (endpoint) that holds it and the
// device's tags. Each SIM starts Issued and gets to its status through
// the platform's actions, so the consumer sees the events of each.
func workspaceFromTable(ctx context.Context, table *godog.Table) error {
	src, err := tableScenario(table)
	if err != nil {
		return err
	}
	return get(ctx).runScenario("the feature's table", []byte(src))
}

// tableScenario writes the table as a scenario.
func tableScenario(table *godog.Table) (string, error) {
	if len(table.Rows) < 2 {
		return "", fmt.Errorf("the table needs a header (status, device, tags) and a row per SIM")
	}
	col := map[string]int{}
	for i, c := range table.Rows[0].Cells {
		name := strings.ToLower(strings.TrimSpace(c.Value))
		if name != "status" && name != "device" && name != "tags" {
			return "", fmt.Errorf("table column %q: the columns are status, device and tags", c.Value)
		}
		col[name] = i
	}
	if _, ok := col["status"]; !ok {
		return "", fmt.Errorf("the table has no status column")
	}
	var sims, steps strings.Builder
	for n, row := range table.Rows[1:] {
		cell := func(name string) string {
			if i, ok := col[name]; ok && i < len(row.Cells) {
				return strings.TrimSpace(row.Cells[i].Value)
			}
			return ""
		}
		status := strings.ToLower(cell("status"))
		actions, ok := tableSteps[status]
		if !ok {
			return "", fmt.Errorf("row %d: status %q: one of Issued, Activated, Suspended, Factory Test, Deleted", n+1, cell("status"))
		}
		device := cell("device")
		if device != "" && status == "deleted" {
			return "", fmt.Errorf("row %d: a deleted SIM is held by no device", n+1)
		}
		fmt.Fprintf(&sims, "      - group: row%d\n        status: issued\n", n+1)
		if device != "" {
			fmt.Fprintf(&sims, "        endpoint: {name: %q, status: enabled", device)
			if tags := cell("tags"); tags != "" {
				fmt.Fprintf(&sims, ", tags: %q", tags)
			}
			sims.WriteString("}\n")
		}
		for _, a := range actions {
			fmt.Fprintf(&steps, "  - do: %s\n    target: row%d\n", a, n+1)
		}
	}
	if steps.Len() == 0 {
		return "", fmt.Errorf("every SIM of the table is Issued: nothing happens, so no event tells the consumer of them")
	}
	return "name: table\ndescription: the SIMs of a Gherkin table\nworkspaces:\n  - name: table\n    sims:\n" + sims.String() + "steps:\n" + steps.String(), nil
}
