package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/auth"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/marketplace"
)

// loadMarketplace builds the demo marketplace through the same service every
// API call uses, so the data has real orders, roles and history behind it:
//
//   - "Cloud Provider" offers a prepaid HPC allocation (reminders 30/14/7/1
//     days before the end date) and non-prepaid object storage.
//   - alice owns "Alice Research" with projects Genomics and Imaging; bob
//     manages Genomics; carol is a member there.
//   - carol's orders wait for consumer approval, one for 2 hours and one for
//     3 days; four OK resources end in 1, 5, 20 and 60 days; one resource
//     was terminated when bob rejected its order.
//
// Orders approved here are processed by the job workers once heed serves.
func loadMarketplace(ctx context.Context, d *db.DB, m *marketplace.Service) error {
	users := map[string]*auth.User{}
	svc := &auth.Service{DB: d}
	for _, du := range Users {
		u, err := svc.UserByUsername(ctx, du.Username)
		if err != nil {
			return err
		}
		users[du.Username] = u
	}
	admin, alice, bob, carol := users["admin"], users["alice"], users["bob"], users["carol"]

	provider, err := m.CreateCustomer(ctx, admin, marketplace.CustomerInput{Name: "Cloud Provider", Email: "ops@provider.example"})
	if err != nil {
		return err
	}
	research, err := m.CreateCustomer(ctx, admin, marketplace.CustomerInput{Name: "Alice Research", Email: "alice@example.com"})
	if err != nil {
		return err
	}
	if _, err := m.AddUser(ctx, admin, marketplace.ScopeCustomer, research.UUID, marketplace.RoleGrant{User: alice.UUID, Role: marketplace.CustomerOwner}); err != nil {
		return err
	}
	genomics, err := m.CreateProject(ctx, alice, marketplace.ProjectInput{Customer: research.UUID, Name: "Genomics", Description: "Sequencing pipelines"})
	if err != nil {
		return err
	}
	if _, err := m.CreateProject(ctx, alice, marketplace.ProjectInput{Customer: research.UUID, Name: "Imaging", Description: "Microscopy data"}); err != nil {
		return err
	}
	for _, g := range []marketplace.RoleGrant{{User: bob.UUID, Role: marketplace.ProjectManager}, {User: carol.UUID, Role: marketplace.ProjectMember}} {
		if _, err := m.AddUser(ctx, alice, marketplace.ScopeProject, genomics.UUID, g); err != nil {
			return err
		}
	}

	compute, err := m.CreateCategory(ctx, admin, marketplace.CategoryInput{Title: "HPC", Description: "Compute allocations"})
	if err != nil {
		return err
	}
	storageCat, err := m.CreateCategory(ctx, admin, marketplace.CategoryInput{Title: "Storage", Description: "Object and block storage"})
	if err != nil {
		return err
	}
	hpc, err := m.CreateOffering(ctx, admin, marketplace.OfferingInput{
		Customer: provider.UUID, Name: "Prepaid HPC allocation", Description: "CPU hours, paid in advance", Category: &compute.UUID,
		Components:    []marketplace.Component{{Type: "cpu_hours", Name: "CPU hours", BillingType: "limit", IsPrepaid: true}},
		PluginOptions: map[string]any{"resource_expiration_reminders": []any{30.0, 14.0, 7.0, 1.0}},
	})
	if err != nil {
		return err
	}
	storage, err := m.CreateOffering(ctx, admin, marketplace.OfferingInput{
		Customer: provider.UUID, Name: "Object storage", Description: "S3-compatible storage, billed by use", Category: &storageCat.UUID,
		Components: []marketplace.Component{{Type: "storage_gb", Name: "Storage", BillingType: "usage"}},
	})
	if err != nil {
		return err
	}
	hpcPlan, err := m.CreatePlan(ctx, admin, marketplace.PlanInput{Offering: hpc.UUID, Name: "Standard allocation", UnitPrice: "150.00", Unit: "month"})
	if err != nil {
		return err
	}
	storagePlan, err := m.CreatePlan(ctx, admin, marketplace.PlanInput{Offering: storage.UUID, Name: "Pay as you go", UnitPrice: "0.02", Unit: "quantity"})
	if err != nil {
		return err
	}

	order := func(actor *auth.User, off *marketplace.Offering, plan *marketplace.Plan, name string, limits map[string]int64) (*marketplace.Order, error) {
		return m.CreateOrder(ctx, actor, marketplace.OrderInput{
			Project: genomics.UUID, Offering: off.UUID, Plan: &plan.UUID,
			Attributes: map[string]any{"name": name}, Limits: limits,
		})
	}
	today := d.Now()
	for _, r := range []struct {
		name string
		days int
		off  *marketplace.Offering
		plan *marketplace.Plan
	}{
		{"hpc-sequencing", 1, hpc, hpcPlan}, {"hpc-assembly", 5, hpc, hpcPlan},
		{"archive-bucket", 20, storage, storagePlan}, {"hpc-annotation", 60, hpc, hpcPlan},
		// Within the prepaid offering's 30-day reminder: a low-urgency action.
		{"hpc-imaging", 20, hpc, hpcPlan},
	} {
		o, err := order(alice, r.off, r.plan, r.name, map[string]int64{"cpu_hours": 1000})
		if err != nil {
			return fmt.Errorf("order %s: %w", r.name, err)
		}
		// Complete it now rather than when the workers start, so the demo
		// resources are OK from their first day of history.
		if err := m.ProcessOrder(ctx, o.ID); err != nil {
			return fmt.Errorf("process %s: %w", r.name, err)
		}
		end := today.AddDate(0, 0, r.days).Format(marketplace.DateLayout)
		if _, err := m.UpdateResource(ctx, alice, marketplace.ConsumerView, *o.ResourceUUID, marketplace.ResourceUpdate{EndDate: &end}); err != nil {
			return fmt.Errorf("end date of %s: %w", r.name, err)
		}
	}

	for _, p := range []struct {
		name string
		age  time.Duration
	}{{"gpu-training", 2 * time.Hour}, {"variant-calling", 72 * time.Hour}, {"rna-seq", 30 * time.Hour}} {
		o, err := order(carol, hpc, hpcPlan, p.name, map[string]int64{"cpu_hours": 500})
		if err != nil {
			return fmt.Errorf("pending order %s: %w", p.name, err)
		}
		if err := backdateOrder(ctx, d, o.UUID, today.Add(-p.age)); err != nil {
			return err
		}
	}

	rejected, err := order(carol, storage, storagePlan, "scratch-space", nil)
	if err != nil {
		return err
	}
	if _, err := m.Transition(ctx, bob, rejected.UUID, marketplace.RejectByConsumer); err != nil {
		return fmt.Errorf("reject demo order: %w", err)
	}
	return loadHistory(ctx, d, m, users)
}

// backdateOrder makes a demo order look as if it had waited for a while.
func backdateOrder(ctx context.Context, d *db.DB, id uuid.UUID, at time.Time) error {
	return d.InTx(ctx, func(tx *db.Tx) error {
		_, err := tx.Exec(ctx, "UPDATE orders SET created = ?, modified = ? WHERE uuid = ?", at, at, id.String())
		if err != nil {
			return fmt.Errorf("backdate order: %w", err)
		}
		return nil
	})
}
