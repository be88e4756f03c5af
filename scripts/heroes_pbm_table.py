# Table 3 of docs/heroes.md from the runs of scripts/heroes_pbm.sh (run in its OUT folder).
import json, glob, statistics as st, sys
models = ['esmm', 'heroes', 'heroes_nohawkes', 'heroes_plus', 'heroes_plus_comb']
names = {'esmm': 'ESMM', 'heroes': 'HEROES (biased, pointwise)', 'heroes_plus': 'HEROES+ (survival, no Hawkes)', 'heroes_plus_comb': 'HEROES+comb (survival + Hawkes)', 'heroes_nohawkes': 'HEROES, hawkes: false (pointwise)'}
keys = [('ctr','auc'),('ctr','ndcg'),('ctcvr','auc'),('ctcvr','ndcg'),('cvr','auc')]
out = {'data': 'lists-pbm, data seed 1, 300k items, tau 1; test split of the relevance-labelled twin', 'models': {}}
rows = []
for m in models:
    vals = {k: [] for k in keys}; click = {k: [] for k in keys}
    for f in sorted(glob.glob(f'runs/t3_{m}_s*/relevance.json')):
        t = json.load(open(f))['test']
        c = json.load(open(f.replace('relevance.json','metrics.json')))['test']
        for k in keys:
            vals[k].append(t[k[0]][k[1]]); click[k].append(c[k[0]][k[1]])
    n = len(vals[keys[0]])
    if n == 0: continue
    out['models'][m] = {'seeds': n, 'vs_relevance': {f'{a}_{b}': vals[(a,b)] for a,b in keys}, 'vs_clicks': {f'{a}_{b}': click[(a,b)] for a,b in keys}}
    def ms(v): return f'{st.mean(v):.4f} ± {st.stdev(v):.4f}' if len(v) > 1 else f'{v[0]:.4f}'
    rows.append(f'| {names[m]} | {n} | ' + ' | '.join(ms(vals[k]) for k in keys) + f' | {ms(click[("ctr","auc")])} |')
o = json.load(open('runs/t3_heroes_s1/relevance.json'))['oracle']
rows.append('| oracle (true relevance) | | ' + ' | '.join(f'{o[a][b]:.4f}' for a,b in keys) + ' | |')
out['oracle_vs_relevance'] = {f'{a}_{b}': o[a][b] for a,b in keys}
json.dump(out, open('table3.json','w'), indent=1)
print('| model | seeds | CTR AUC | CTR NDCG | CTCVR AUC | CTCVR NDCG | CVR AUC | CTR AUC vs clicks |')
print('|---|---|---|---|---|---|---|---|')
print('\n'.join(rows))
