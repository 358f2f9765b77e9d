#!/usr/bin/python3
"""Random valid plastcc programs, for differential testing (random-rules.sh).

    gen_rules.py SEED [--rules N] [--list-parts]

Writes to standard output one .rule file: N random rules, then a rule that
uses every part of the language the others did not, and three models.  The
parts (PARTS below): params (scalars and arrays; l1, fixed, range), lets,
neuron values (one, or several bound from a meta-MLP call), meta-MLPs
called as values, the signals y, z, e at both ends, w and the sizes, every
function and operator, every reduction (nested too); models with each
hidden activation (kcap too), each feedback (symmetric, random, direct) and
both losses.  The same SEED gives the same file.  Every program is valid by
construction: index spaces are tracked, so a reduction's body always
depends on the index it removes, and values stay finite at gradcheck's
points (log, sqrt, pow and / only ever see 1 + x^2).
"""
import argparse
import random

PRE, POST, SAMPLE = 1, 2, 4
NEURON = 8   # inside a neuron definition: varies with the neuron (reads a signal)

FUNCTIONS = {"exp": "exp(0.5 * ({x}))", "log": "log(1 + ({x}) ^ 2)", "sqrt": "sqrt(1 + ({x}) ^ 2)",
             "tanh": "tanh({x})", "sigmoid": "sigmoid({x})", "softplus": "softplus({x})",
             "softplus2": "softplus({x}, 2)", "pow": "pow(1 + ({x}) ^ 2, 1.5)", "square": "({x}) ^ 2",
             "neg": "-({x})"}
KINKS = {"abs": "abs({x})", "relu": "relu({x})", "sign": "sign({x}) * ({x})", "min": "min({x}, {y})",
         "max": "max({x}, {y})"}   # random points are away from the kink
OPERATORS = {"+": "({a}) + ({b})", "-": "({a}) - ({b})", "*": "({a}) * ({b})", "/": "({a}) / (1 + ({b}) ^ 2)"}
REDUCTIONS = {"sum_pre": PRE, "sum_post": POST, "sum_syn": PRE | POST, "mean_batch": SAMPLE, "sum_batch": SAMPLE}
# an atom the body of each reduction can be multiplied by to depend on what it removes: (text, space)
DEPENDS = {PRE: ("pre.y", PRE | SAMPLE), POST: ("post.y", POST | SAMPLE), PRE | POST: ("w", PRE | POST),
           SAMPLE: ("pre.y", PRE | SAMPLE)}
SIGNAL_ATOMS = {f"{end}.{s}": (PRE if end == "pre" else POST) | SAMPLE for end in ("pre", "post") for s in "yze"}
ATOMS = dict(SIGNAL_ATOMS, w=PRE | POST, n_pre=0, n_post=0, batch=0, steps=0)
PARTS = (["f:" + k for k in list(FUNCTIONS) + list(KINKS)] + ["op:" + k for k in OPERATORS] +
         ["r:" + k for k in REDUCTIONS] + ["a:" + k for k in ATOMS] +
         ["neuron", "neuron (a, b)", "mlp call", "let", "param[]", "l1", "fixed", "range"])


class Rule:
    """One rule being generated: its names, their index spaces, its text.
    USED collects the parts every rule of the program has used."""

    def __init__(self, rng, name, mlps, used):
        self.rng, self.name, self.mlps, self.used = rng, name, mlps, used
        self.params = []      # (name, size or 0)
        self.neurons = {}     # neuron value -> its space at the neuron: NEURON and SAMPLE bits
        self.lets = {}        # let name -> space
        self.lines = []

    # ---- leaves: (text, space) ----
    def coef(self):
        name, size = self.rng.choice(self.params)
        return f"{name}[{self.rng.randrange(size)}]" if size else name

    def named_atom(self, name):
        self.used.add("a:" + name)
        return name, ATOMS[name]

    def neuron_atom(self):
        r = self.rng.random()
        if r < 0.3 and self.neurons:
            v = self.rng.choice(sorted(self.neurons))
            return v, self.neurons[v]
        if r < 0.4:
            return self.named_atom(self.rng.choice(["batch", "steps"]))
        return self.rng.choice("yze"), NEURON | SAMPLE

    def synapse_atom(self):
        r = self.rng.random()
        if r < 0.15 and self.neurons:
            end = self.rng.choice(["pre", "post"])
            v = self.rng.choice(sorted(self.neurons))
            at = self.neurons[v]
            return f"{end}.{v}", ((PRE if end == "pre" else POST) if at & NEURON else 0) | (at & SAMPLE)
        if r < 0.3 and self.lets:
            v = self.rng.choice(sorted(self.lets))
            return v, self.lets[v]
        return self.named_atom(self.rng.choice(["w", "w", "n_pre", "n_post"] + sorted(SIGNAL_ATOMS) * 2))

    def atom(self, in_neuron):
        r = self.rng.random()
        if r < 0.12:
            return f"{self.rng.choice([0.5, 2, 1.5, 0.25, 3])}", 0
        if r < 0.25:
            return self.coef(), 0
        return self.neuron_atom() if in_neuron else self.synapse_atom()

    # ---- expressions: (text, space) ----
    def expr(self, depth, in_neuron=False):
        r = self.rng.random()
        if depth <= 0 or r < 0.25:
            return self.atom(in_neuron)
        if r < 0.5:
            return self.operator(self.rng.choice(sorted(OPERATORS)), depth, in_neuron)
        if r < 0.72:
            kinds = sorted(KINKS) if self.rng.random() < 0.25 else sorted(FUNCTIONS)
            return self.function(self.rng.choice(kinds), depth, in_neuron)
        if r < 0.8 and any(m[2] == 1 for m in self.mlps):
            return self.mlp_call(depth, in_neuron)
        kinds = ["mean_batch", "sum_batch"] if in_neuron else sorted(REDUCTIONS)
        return self.reduction(self.rng.choice(kinds), depth, in_neuron)

    def operator(self, op, depth, in_neuron):
        (a, sa), (b, sb) = self.expr(depth - 1, in_neuron), self.expr(depth - 1, in_neuron)
        self.used.add("op:" + op)
        return OPERATORS[op].format(a=a, b=b), sa | sb

    def function(self, name, depth, in_neuron):
        (x, sx), (y, sy) = self.expr(depth - 1, in_neuron), self.expr(depth - 1, in_neuron)
        form = FUNCTIONS.get(name) or KINKS[name]
        self.used.add("f:" + name)
        return form.format(x=x, y=y), sx | (sy if "{y}" in form else 0)

    def mlp_call(self, depth, in_neuron):
        name, n_in, _ = self.rng.choice([m for m in self.mlps if m[2] == 1])
        args = [self.expr(depth - 1, in_neuron) for _ in range(n_in)]
        space = 0
        for _, s in args:
            space |= s
        self.used.add("mlp call")
        return f"{name}({', '.join(a for a, _ in args)})", space

    def reduction(self, kind, depth, in_neuron):
        need = REDUCTIONS[kind]
        body, s = self.expr(depth - 1, in_neuron)
        if not s & need:   # the body must vary with what it sums over
            extra, extra_space = ("y", NEURON | SAMPLE) if in_neuron else DEPENDS[need]
            body, s = f"({body}) * {extra}", s | extra_space
        self.used.add("r:" + kind)
        return f"{kind}({body})", s & ~need

    # ---- statements ----
    def declare_params(self):
        for k in range(self.rng.randint(1, 3)):
            name = f"p{k}"
            size = self.rng.choice([0, 0, 2, 3])
            init = ", ".join(f"{self.rng.uniform(-0.5, 0.5):.3g}" for _ in range(max(size, 1)))
            attr = self.rng.choice(["", "", "l1", "range", "fixed"])
            self.used.update(["param[]"] if size else [])
            self.used.update([attr] if attr else [])
            spelled = {"": "", "l1": " l1", "range": " range(-1, 1)", "fixed": " fixed"}[attr]
            self.lines.append(f"  param {name}{f'[{size}]' if size else ''} = {f'[{init}]' if size else init}{spelled};")
            self.params.append((name, size))
        if all(a.endswith(" fixed;") for a in self.lines):   # something to train
            self.lines.append("  param q = 0.1;")
            self.params.append(("q", 0))

    def declare_neuron(self, k, several=None):
        """neuron gK = ...; or, SEVERAL (at random when None), neuron (vK_0, ...) = net(...);"""
        multi = [m for m in self.mlps if m[2] > 1]
        if several is None:
            several = self.rng.random() < 0.3
        if multi and several:
            name, n_in, n_out = self.rng.choice(multi)
            names = [f"v{k}_{o}" for o in range(n_out)]
            args = [self.expr(1, True) for _ in range(n_in)]
            space = 0
            for _, s in args:
                space |= s & (NEURON | SAMPLE)
            self.lines.append(f"  neuron ({', '.join(names)}) = {name}({', '.join(a for a, _ in args)});")
            self.neurons.update({n: space for n in names})
            self.used.add("neuron (a, b)")
        else:
            text, space = self.expr(2, True)
            self.lines.append(f"  neuron g{k} = {text};")
            self.neurons[f"g{k}"] = space & (NEURON | SAMPLE)
            self.used.add("neuron")

    def declare_let(self, k):
        text, space = self.expr(2)
        self.lines.append(f"  let h{k} = {text};")
        self.lets[f"h{k}"] = space
        self.used.add("let")

    def text(self, terms):
        return f"rule {self.name} {{\n" + "\n".join(self.lines) + "\n  dw = " + "\n     + ".join(terms) + ";\n}\n"

    def random_rule(self):
        self.declare_params()
        for k in range(self.rng.randint(0, 2)):
            self.declare_neuron(k)
        for k in range(self.rng.randint(0, 2)):
            self.declare_let(k)
        return self.text([f"{self.coef()} * ({self.expr(3)[0]})" for _ in range(self.rng.randint(1, 3))])

    def covering_rule(self):
        """A term for each part no rule used yet, each on random operands."""
        self.declare_params()
        missing = [p for p in PARTS if p not in self.used]
        for p in missing:
            if p in ("neuron", "neuron (a, b)"):
                self.declare_neuron(len(self.neurons), p != "neuron")
            if p == "let":
                self.declare_let(0)
            if p in ("param[]", "l1", "fixed", "range"):
                spelled = {"param[]": "[2] = [0.1, 0.2]", "l1": " = 0.1 l1", "fixed": " = 0.1 fixed",
                           "range": " = 0.1 range(-1, 1)"}[p]
                self.lines.append(f"  param c_{p.strip('[]') or 'array'}{spelled};")
        terms = []
        for p in missing:
            kind, _, name = p.partition(":")
            if kind == "f":
                terms.append(self.function(name, 2, False)[0])
            elif kind == "op":
                terms.append(self.operator(name, 2, False)[0])
            elif kind == "r":
                terms.append(self.reduction(name, 2, False)[0])
            elif kind == "a":
                terms.append(name if name in ATOMS and name not in ("batch", "steps") else
                             f"sum_batch(pre.y * {name})")
            elif p == "mlp call" and any(m[2] == 1 for m in self.mlps):
                terms.append(self.mlp_call(2, False)[0])
        terms += [f"{end}.{v}" for v in sorted(self.neurons) for end in ("pre", "post")][:4]
        terms += sorted(self.lets)
        self.used.update(missing)
        return self.text([f"{self.coef()} * ({t})" for t in terms] or [f"{self.coef()} * w"])


def mlp_block(rng, name, n_out):
    n_in, layers = rng.randint(1, 3), []
    for _ in range(rng.randint(1, 2)):
        layers.append((rng.randint(2, 4), rng.choice(["", " relu", " tanh", " sigmoid", " softplus", " softplus(2)"])))
    layers.append((n_out, rng.choice(["", " tanh"])))
    body = "".join(f" dense {w}{a};" for w, a in layers)
    return (name, n_in, n_out), f"mlp {name} {{ in {n_in};{body} }}\n"


HIDDEN = ["softplus(10)", "softplus(2)", "tanh", "sigmoid", "relu", "linear", "kcap"]


def model_block(rng, name, feedback, loss, hidden):
    lines = [f"  input {rng.randint(2, 6)};"]
    for act in hidden:
        size = rng.randint(3, 7)
        act = f"kcap({rng.randint(1, size)})" if act == "kcap" else act
        lines.append(f"  dense {size} {act};")
    if loss == "cross_entropy":
        lines += [f"  dense {rng.randint(2, 5)} softmax;", "  loss cross_entropy;"]
    else:
        lines += [f"  dense {rng.randint(2, 5)} {rng.choice(['linear', 'tanh'])};", "  loss mse;"]
    lines.append(f"  feedback {feedback};")
    if rng.random() < 0.5:
        lines.append(f"  init {rng.choice(['xavier', 'normal(0.3)', 'uniform(0.5)'])};")
    return f"model {name} {{\n" + "\n".join(lines) + "\n}\n"


def models(rng):
    """Three models: one per feedback, both losses, every hidden activation."""
    acts = HIDDEN[:]
    rng.shuffle(acts)
    split = [acts[0:2], acts[2:5], acts[5:]]
    losses = ["cross_entropy", "mse", rng.choice(["cross_entropy", "mse"])]
    return [model_block(rng, f"m{k}", fb, losses[k], split[k]) for k, fb in enumerate(["symmetric", "random", "direct"])]


def program(seed, n_rules):
    rng = random.Random(seed)
    out = [f"# generated by tests/random/gen_rules.py {seed} --rules {n_rules}\n"]
    mlps, used = [], set()
    for k, n_out in enumerate([1, 2]):   # one called as a value, one bound by a neuron (a, b)
        sig, text = mlp_block(rng, f"net{k}", n_out)
        mlps.append(sig)
        out.append(text)
    for k in range(n_rules):
        out.append(Rule(rng, f"r{k}", mlps, used).random_rule())
    out.append(Rule(rng, "cover", mlps, used).covering_rule())
    out += models(rng)
    missing = [p for p in PARTS if p not in used]
    assert not missing, missing
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("seed", type=int)
    ap.add_argument("--rules", type=int, default=5)
    ap.add_argument("--list-parts", action="store_true", help="print the parts every program covers")
    a = ap.parse_args()
    if a.list_parts:
        print(" ".join(PARTS))
        return
    print(program(a.seed, a.rules), end="")


if __name__ == "__main__":
    main()
