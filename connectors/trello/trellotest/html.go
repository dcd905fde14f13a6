package trellotest

import (
	"html/template"
	"net/http"
	"sort"
	"strings"
)

// The read-only HTML view lets a person running the demo watch adpacer's
// cards appear, move and collect comments. It needs no credentials: the
// fake only ever listens on localhost and holds demo data.

var chipColors = map[string]string{"green": "#61bd4f", "yellow": "#f2d600", "orange": "#ff9f1a", "red": "#eb5a46",
	"purple": "#c377e0", "blue": "#0079bf", "sky": "#00c2e0", "lime": "#51e898", "pink": "#ff78cb", "black": "#344563"}

type htmlLabel struct{ Name, Color string }
type htmlCard struct {
	ID, Name, Desc, Due string
	Closed              bool
	Labels              []htmlLabel
	Members             []string
	Comments            []string
}
type htmlList struct {
	Name  string
	Cards []htmlCard
}
type htmlBoard struct {
	ID, Name string
	Lists    []htmlList
	Archived []htmlCard
}

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>{{if .Board}}{{.Board.Name}} · {{end}}fake Trello</title>
<style>
body{font-family:sans-serif;background:#0079bf;color:#172b4d;margin:0;padding:12px}
a{color:#fff} h1{color:#fff;font-size:20px}
.lists{display:flex;gap:10px;align-items:flex-start;overflow-x:auto}
.list{background:#ebecf0;border-radius:6px;min-width:280px;max-width:280px;padding:8px}
.list h2{font-size:15px;margin:2px 4px 8px}
.card{background:#fff;border-radius:4px;padding:6px 8px;margin-bottom:8px;box-shadow:0 1px 0 #091e4240}
.card.closed{opacity:.6}
.chip{display:inline-block;border-radius:3px;color:#fff;font-size:11px;padding:1px 6px;margin:0 4px 4px 0}
.meta{font-size:11px;color:#5e6c84;margin-top:4px}
details{font-size:12px;margin-top:4px} pre{white-space:pre-wrap;font-size:11px}
.comment{border-left:3px solid #dfe1e6;padding-left:6px;margin:4px 0;white-space:pre-wrap}
</style></head><body>
{{if .Board}}<h1><a href="/">boards</a> / {{.Board.Name}}</h1>
<div class="lists">
{{range .Board.Lists}}<div class="list"><h2>{{.Name}} ({{len .Cards}})</h2>{{range .Cards}}{{template "card" .}}{{end}}</div>{{end}}
{{if .Board.Archived}}<div class="list"><h2>Archived ({{len .Board.Archived}})</h2>{{range .Board.Archived}}{{template "card" .}}{{end}}</div>{{end}}
</div>
{{else}}<h1>Boards</h1><ul>{{range .Boards}}<li><a href="/board/{{.ID}}">{{.Name}}</a></li>{{else}}<li style="color:#fff">no boards yet</li>{{end}}</ul>{{end}}
</body></html>
{{define "card"}}<div class="card{{if .Closed}} closed{{end}}" id="{{.ID}}">
<div>{{range .Labels}}<span class="chip" style="background:{{.Color}}">{{.Name}}</span>{{end}}</div>
<div>{{.Name}}</div>
<div class="meta">{{if .Due}}due {{.Due}} · {{end}}{{range .Members}}@{{.}} {{end}}{{if .Comments}}· {{len .Comments}} comments{{end}}</div>
{{if .Desc}}<details><summary>description</summary><pre>{{.Desc}}</pre></details>{{end}}
{{if .Comments}}<details><summary>comments</summary>{{range .Comments}}<div class="comment">{{.}}</div>{{end}}</details>{{end}}
</div>{{end}}`))

func (s *Server) serveHTML(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		plain(w, http.StatusMethodNotAllowed, "read-only view")
		return
	}
	if link, ok := strings.CutPrefix(r.URL.Path, "/c/"); ok {
		s.mu.Lock()
		target := ""
		for _, c := range s.cards {
			if shortLink(c.ID) == link || c.ID == link { // Trello accepts both
				target = "/board/" + c.BoardID + "#" + c.ID
			}
		}
		s.mu.Unlock()
		if target == "" {
			plain(w, http.StatusNotFound, "no such card")
			return
		}
		http.Redirect(w, r, target, http.StatusFound)
		return
	}
	data := struct {
		Board  *htmlBoard
		Boards []htmlBoard
	}{}
	s.mu.Lock()
	if id, ok := strings.CutPrefix(r.URL.Path, "/board/"); ok {
		b := s.boards[id]
		if b == nil {
			s.mu.Unlock()
			plain(w, http.StatusNotFound, "no such board")
			return
		}
		data.Board = s.htmlBoard(b)
	} else {
		for _, b := range s.boards {
			data.Boards = append(data.Boards, htmlBoard{ID: b.ID, Name: b.Name})
		}
		sort.Slice(data.Boards, func(i, j int) bool { return data.Boards[i].ID < data.Boards[j].ID })
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := pageTmpl.Execute(w, data); err != nil {
		plain(w, http.StatusInternalServerError, "render: "+err.Error())
	}
}

func (s *Server) htmlBoard(b *board) *htmlBoard {
	hb := &htmlBoard{ID: b.ID, Name: b.Name}
	idx := map[string]int{}
	for _, id := range b.Lists {
		if l := s.lists[id]; !l.Closed {
			idx[id] = len(hb.Lists)
			hb.Lists = append(hb.Lists, htmlList{Name: l.Name})
		}
	}
	ids := append([]string(nil), b.Cards...)
	sort.SliceStable(ids, func(i, j int) bool { return s.cards[ids[i]].Pos < s.cards[ids[j]].Pos })
	for _, id := range ids {
		c := s.cards[id]
		v := s.view(c)
		hc := htmlCard{ID: c.ID, Name: c.Name, Desc: c.Desc, Closed: c.Closed, Members: v.Members, Comments: v.Comments}
		if c.Due != nil {
			hc.Due = c.Due.UTC().Format("2006-01-02 15:04 MST")
		}
		for _, lid := range c.Labels {
			l := s.labels[lid]
			col := chipColors[l.Color]
			if col == "" {
				col = "#b3bac5"
			}
			hc.Labels = append(hc.Labels, htmlLabel{Name: l.Name, Color: col})
		}
		i, open := idx[c.ListID]
		if c.Closed || !open {
			hb.Archived = append(hb.Archived, hc)
			continue
		}
		hb.Lists[i].Cards = append(hb.Lists[i].Cards, hc)
	}
	return hb
}
