package server

import (
	"context"
	"net/http"
	"time"

	"github.com/paperperps/exchange/engine"
	"github.com/paperperps/exchange/fixed"
	"github.com/shopspring/decimal"
)

// NewAccount is a created account and its credentials.
type NewAccount struct {
	Account engine.AccountID `json:"account"`
	Credentials
	Wallet decimal.Decimal `json:"wallet"`
}

type createAccountRequest struct {
	// Deposit, if set, is credited right after the account is created.
	Deposit Number `json:"deposit"`
}

func (s *Server) postAccount(w http.ResponseWriter, r *request) error {
	var req createAccountRequest
	if len(r.body) > 0 {
		if err := decodeBody(r.body, &req); err != nil {
			return err
		}
	}
	cmds := []engine.Command{{Kind: engine.CmdCreateAccount}}
	if req.Deposit.set {
		amt, err := quote(req.Deposit, "deposit")
		if err != nil {
			return err
		}
		cmds = append(cmds, engine.Command{Kind: engine.CmdDeposit, AmountQuote: amt})
	}
	// The deposit names the account, whose id the engine assigns as it
	// creates it: so it follows as a second command. Should it fail, the
	// account exists, empty, and the error says why.
	ctx, cancel := context.WithTimeout(r.Context(), time.Duration(s.cfg.Timeout))
	defer cancel()
	res := s.sub.Submit(ctx, cmds[0])
	if err := s.resultErr(res.Err); err != nil {
		return err
	}
	out := NewAccount{Wallet: decimal.Zero}
	created := false
	for _, ev := range res.Events {
		switch ev.Kind {
		case engine.EventRejected:
			return refusal(ev.Reason)
		case engine.EventAccountCreated:
			out.Account, created = ev.Account, true
		}
	}
	if !created {
		return apiErr(http.StatusInternalServerError, codeInternal, "no account-created event")
	}
	s.accounts.add(out.Account)
	if len(cmds) > 1 {
		cmds[1].Account = out.Account
		evs, err := s.submit(r.Context(), cmds[1])
		if err != nil {
			return err
		}
		for _, ev := range evs {
			if ev.Kind == engine.EventBalance && ev.Account == out.Account && ev.Cause == engine.CauseDeposit {
				out.Wallet = fixed.QuoteAmount(ev.BalanceQuote)
			}
		}
	}
	out.Credentials = s.keys.Account(out.Account)
	writeJSON(w, http.StatusOK, out)
	return nil
}

type moneyRequest struct {
	Account *engine.AccountID `json:"account"`
	Amount  Number            `json:"amount"`
}

// Balance is an account's wallet after a deposit or withdrawal.
type Balance struct {
	Account engine.AccountID `json:"account"`
	Wallet  decimal.Decimal  `json:"wallet"`
	Seq     uint64           `json:"seq"`
}

func (s *Server) moneyCommand(kind engine.CommandKind) handler {
	return func(w http.ResponseWriter, r *request) error {
		var req moneyRequest
		if err := decodeBody(r.body, &req); err != nil {
			return err
		}
		if req.Account == nil {
			return apiErr(http.StatusBadRequest, codeMissingParam, "account is required")
		}
		if !s.accounts.has(*req.Account) {
			return apiErr(http.StatusBadRequest, engine.ReasonUnknownAccount.String(), "no account %d", *req.Account)
		}
		amt, err := quote(req.Amount, "amount")
		if err != nil {
			return err
		}
		evs, seq, err := s.submitSeq(r, engine.Command{Kind: kind, Account: *req.Account, AmountQuote: amt})
		if err != nil {
			return err
		}
		out := Balance{Account: *req.Account, Seq: seq}
		for _, ev := range evs {
			if ev.Kind == engine.EventBalance && ev.Account == *req.Account && (ev.Cause == engine.CauseDeposit || ev.Cause == engine.CauseWithdrawal) {
				out.Wallet = fixed.QuoteAmount(ev.BalanceQuote)
			}
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	}
}

type indexRequest struct {
	Market string `json:"symbol"`
	Price  Number `json:"price"`
}

func (s *Server) postIndex(w http.ResponseWriter, r *request) error {
	var req indexRequest
	if err := decodeBody(r.body, &req); err != nil {
		return err
	}
	m, err := s.market(req.Market)
	if err != nil {
		return err
	}
	p, err := ticks(m, req.Price, "price")
	if err != nil {
		return err
	}
	evs, seq, err := s.submitSeq(r, engine.Command{Kind: engine.CmdSetIndexPrice, Market: m.ID, PriceTicks: p})
	if err != nil {
		return err
	}
	liqs := 0
	for _, ev := range evs {
		if ev.Kind == engine.EventLiquidation {
			liqs++
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"symbol": m.Symbol, "indexPrice": m.Grid.Price(p), "liquidations": liqs, "seq": seq})
	return nil
}

type feedRequest struct {
	Paused *bool `json:"paused"`
}

func (s *Server) postFeed(w http.ResponseWriter, r *request) error {
	var req feedRequest
	if err := decodeBody(r.body, &req); err != nil {
		return err
	}
	if req.Paused == nil {
		return apiErr(http.StatusBadRequest, codeMissingParam, "paused is required")
	}
	if s.feed == nil {
		return apiErr(http.StatusConflict, codeInvalidParam, "no price feed runs")
	}
	if *req.Paused {
		s.feed.Pause()
	} else {
		s.feed.Resume()
	}
	writeJSON(w, http.StatusOK, map[string]bool{"paused": s.feed.Paused()})
	return nil
}
