"""The five families of Confer's built-in arithmetic suite (src/Confer/Reasoning/Suites/ArithmeticFamily.cs, same
wording and number ranges), as step specs that can be rendered intact or with the actor's kinds of mistakes."""
import random

PEOPLE = [("Ava", "She"), ("Ben", "He"), ("Chloe", "She"), ("Dan", "He"), ("Emma", "She"), ("Finn", "He"), ("Grace", "She"),
          ("Hugo", "He"), ("Ivy", "She"), ("Jack", "He"), ("Lena", "She"), ("Max", "He"), ("Nora", "She"), ("Omar", "He"),
          ("Rosa", "She"), ("Sam", "He"), ("Tara", "She"), ("Leo", "He"), ("Mia", "She"), ("Noah", "He")]
FRIENDS = ["a friend", "a neighbour", "a classmate", "a cousin", "the teacher", "the class"]
COLLECT = ["stickers", "marbles", "cards", "shells", "stamps", "coins", "beads", "buttons"]
PACKS = [("box", "boxes", "pens"), ("bag", "bags", "apples"), ("crate", "crates", "bottles"), ("jar", "jars", "cookies"),
         ("tray", "trays", "cups"), ("pack", "packs", "pencils"), ("basket", "baskets", "oranges"), ("shelf", "shelves", "books")]
GOODS = [("notebook", "notebooks"), ("ticket", "tickets"), ("sandwich", "sandwiches"), ("toy car", "toy cars"), ("plant", "plants"),
         ("magazine", "magazines"), ("ball", "balls"), ("scarf", "scarves")]
SHARES = [("cookies", "child", "children"), ("apples", "friend", "friends"), ("pencils", "student", "students"), ("cards", "player", "players"),
          ("grapes", "kid", "kids"), ("candies", "child", "children"), ("flowers", "girl", "girls"), ("stickers", "boy", "boys")]
FARMS = [("hen", "hens", "eggs"), ("cow", "cows", "litres of milk"), ("tree", "trees", "apples"), ("bee hive", "bee hives", "jars of honey"),
         ("goat", "goats", "cups of milk"), ("duck", "ducks", "eggs")]

# A step is (x, op, y): an operand is ("q", value) — copied from the question — or ("s", i), the result of step i.
def collect(r):
    name, pron = r.choice(PEOPLE); things = r.choice(COLLECT)
    a = r.randint(11, 69); b = r.randint(6, 39); s = a + b; c = r.randint(3, min(s - 1, 49))
    verb = r.choice(["finds", "gets", "buys", "wins"])
    q = f"{name} has {a} {things}. {pron} {verb} {b} more {things} and then gives {c} {things} to {r.choice(FRIENDS)}. How many {things} does {name} have now?"
    return q, [(("q", a), "+", ("q", b)), (("s", 0), "-", ("q", c))]

def boxes(r):
    container, containers, things = r.choice(PACKS)
    a = r.randint(2, 9); b = r.randint(3, 14); c = r.randint(2, 29)
    q = f"There are {a} {containers} of {things}. Each {container} holds {b} {things}, and there are {c} more {things} on the table. How many {things} are there in all?"
    return q, [(("q", a), "*", ("q", b)), (("s", 0), "+", ("q", c))]

def change(r):
    name, pron = r.choice(PEOPLE); one, many = r.choice(GOODS)
    n = r.randint(2, 7); p = r.randint(3, 14); cost = n * p; paid = (cost // 10 + r.randint(1, 4)) * 10
    q = f"A {one} costs {p} dollars. {name} buys {n} {many} and pays with {paid} dollars. How much change does {pron.lower()} get?"
    return q, [(("q", n), "*", ("q", p)), (("q", paid), "-", ("s", 0))]

def share(r):
    things, person, people = r.choice(SHARES)
    k = r.randint(2, 9); each = r.randint(4, 19); total = k * each; e = r.randint(1, each - 1)
    verb = r.choice(["gives away", "loses", "trades"])
    q = f"{total} {things} are shared equally among {k} {people}. Each {person} then {verb} {e} of them. How many {things} does each {person} have left?"
    return q, [(("q", total), "/", ("q", k)), (("s", 0), "-", ("q", e))]

def farm(r):
    animal, animals, product = r.choice(FARMS)
    a = r.randint(2, 9); b = r.randint(2, 6); daily = a * b; c = r.randint(1, daily - 1); days = r.randint(2, 6)
    q = f"A farm has {a} {animals} and each {animal} gives {b} {product} a day. The farmer uses {c} {product} a day. How many {product} are left over after {days} days?"
    return q, [(("q", a), "*", ("q", b)), (("s", 0), "-", ("q", c)), (("s", 1), "*", ("q", days))]

FAMILIES = {"collect": collect, "boxes": boxes, "change": change, "share": share, "farm": farm}

def apply(op, x, y):
    if op == "+": return x + y
    if op == "-": return x - y
    if op == "*": return x * y
    return x // y if y else 0

def wrong_number(r, true):
    """A wrong value the way the actor's are wrong: mostly near misses, sometimes far off; never the true one."""
    while True:
        u = r.random()
        if u < 0.5: v = true + r.choice([-1, 1]) * r.randint(1, 9)
        elif u < 0.75: v = true + r.choice([-1, 1]) * r.randint(10, 30)
        else: v = r.randint(0, max(10, 2 * abs(true) + 10))
        if v != true and v >= 0: return v

def render(r, steps, corrupt):
    """The worked solution as the actor writes it (' a op b = c. ... The answer is N.') and its final number. With
    corrupt, at least one step goes wrong: a wrong result (carried on into the next steps, as the actor does) or an
    operand mis-copied from the question."""
    plan = [(False, False)] * len(steps)
    if corrupt:
        while not any(a or b for a, b in plan):
            plan = [(r.random() < 0.5, r.random() < 0.1) for _ in steps]
    vals, texts = [], []
    for (x, op, y), (bad_result, bad_copy) in zip(steps, plan):
        xv = x[1] if x[0] == "q" else vals[x[1]]
        yv = y[1] if y[0] == "q" else vals[y[1]]
        if bad_copy:
            if x[0] == "q" and (y[0] != "q" or r.random() < 0.5): xv = wrong_number(r, xv) if op != "/" else max(1, wrong_number(r, xv))
            elif y[0] == "q": yv = max(1, wrong_number(r, yv)) if op in "/*" else wrong_number(r, yv)
        res = apply(op, xv, yv)
        if bad_result: res = wrong_number(r, res)
        vals.append(res)
        texts.append(f"{xv} {op} {yv} = {res}.")
    return " " + " ".join(texts) + f" The answer is {vals[-1]}.", vals[-1]

def gold(steps):
    vals = []
    for x, op, y in steps:
        vals.append(apply(op, x[1] if x[0] == "q" else vals[x[1]], y[1] if y[0] == "q" else vals[y[1]]))
    return vals[-1]

def example(r, exclude=frozenset()):
    """(question, reasoning, answer, label): half intact, half with mistakes; label = final answer equals the gold one,
    as FedCoT labels a candidate."""
    while True:
        fam = r.choice(list(FAMILIES.values()))
        q, steps = fam(r)
        if q not in exclude: break
    text, final = render(r, steps, corrupt=r.random() < 0.5)
    return q, text, str(final), float(final == gold(steps))

if __name__ == "__main__":
    r = random.Random(1)
    n, pos = 0, 0
    for _ in range(20000):
        q, t, a, l = example(r); n += 1; pos += l
    print("positive share", pos / n)
    for _ in range(6): print(example(r))
