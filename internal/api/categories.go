package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/marketplace"
)

// Category is Waldur's MarketplaceCategory, the keys heed keeps.
type Category struct {
	UUID           string    `json:"uuid" pattern:"^[0-9a-f]{32}$"`
	URL            string    `json:"url" format:"uri"`
	Title          string    `json:"title"`
	Description    string    `json:"description"`
	OfferingsCount int       `json:"offering_count" doc:"Offerings in this category."`
	Created        time.Time `json:"created"`
	Modified       time.Time `json:"modified"`
}

func categoryOut(l links, k *marketplace.Category) Category {
	return Category{UUID: HexUUID(k.UUID), URL: l.to("marketplace-categories", k.UUID), Title: k.Title,
		Description: k.Description, OfferingsCount: k.OfferingsCount, Created: k.Created.UTC(), Modified: k.Modified.UTC()}
}

func registerCategories(api huma.API, svc *marketplace.Service) {
	tag := []string{"marketplace-categories"}
	type listCategories struct {
		ListParams
		Title string `query:"title" doc:"Case-insensitive substring of the title."`
		O     string `query:"o" doc:"Ordering: title, created."`
	}
	registerList(api, huma.Operation{
		OperationID: "marketplace_categories_list", Path: "/api/marketplace-categories/", Summary: "List categories",
		Description: "The catalogue is visible to every authenticated user.",
		Tags:        tag, Security: authRequired, Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusNotFound},
	}, func(ctx context.Context, in *listCategories, page db.Page) ([]Category, int, error) {
		list, total, err := svc.ListCategories(ctx, CurrentUser(ctx), marketplace.CategoryFilter{Title: in.Title, Ordering: in.O}, page)
		if err != nil {
			return nil, 0, err
		}
		l := linksFrom(ctx)
		return mapAll(list, func(k *marketplace.Category) Category { return categoryOut(l, k) }), total, nil
	})
	registerRetrieve(api, huma.Operation{OperationID: "marketplace_categories_retrieve", Path: "/api/marketplace-categories/{uuid}/",
		Summary: "Get a category", Tags: tag}, svc.GetCategory, categoryOut)
	type createCategory struct {
		Body struct {
			Title       string `json:"title" minLength:"1" maxLength:"255"`
			Description string `json:"description,omitempty"`
		}
	}
	huma.Register(api, huma.Operation{
		OperationID: "marketplace_categories_create", Method: http.MethodPost, Path: "/api/marketplace-categories/",
		DefaultStatus: http.StatusCreated, Summary: "Create a category (staff)", Tags: tag, Security: authRequired, Errors: errsWrite,
	}, func(ctx context.Context, in *createCategory) (*body[Category], error) {
		k, err := svc.CreateCategory(ctx, CurrentUser(ctx), marketplace.CategoryInput{Title: in.Body.Title, Description: in.Body.Description})
		if err != nil {
			return nil, err
		}
		return &body[Category]{Body: categoryOut(linksFrom(ctx), k)}, nil
	})
}

// registerPublicOfferings serves Waldur's public catalogue: the offerings
// open for ordering or browsing (Active, Paused), in the same shape as the
// provider view.
func registerPublicOfferings(api huma.API, svc *marketplace.Service) {
	tag := []string{"marketplace-public-offerings"}
	registerList(api, huma.Operation{
		OperationID: "marketplace_public_offerings_list", Path: "/api/marketplace-public-offerings/",
		Summary: "List the public catalogue", Description: "Active and paused offerings, visible to every authenticated user.",
		Tags: tag, Security: authRequired, Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusNotFound},
	}, func(ctx context.Context, in *OfferingListInput, page db.Page) ([]Offering, int, error) {
		f, err := in.filter()
		if err != nil {
			return nil, 0, err
		}
		f.Public = true
		return listOfferingsOut(ctx, svc, f, page)
	})
	registerRetrieve(api, huma.Operation{OperationID: "marketplace_public_offerings_retrieve", Path: "/api/marketplace-public-offerings/{uuid}/",
		Summary: "Get an offering of the public catalogue", Tags: tag}, svc.GetPublicOffering, offeringOut)
}
