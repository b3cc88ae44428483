"""Word lists and distributions that make synthetic data look plausible."""

FIRST_NAMES = (
    "Ada", "Alex", "Amara", "Ana", "Ben", "Bianca", "Carlos", "Chen", "Chloe", "Dana",
    "David", "Elena", "Eli", "Emma", "Farah", "Felix", "Grace", "Hana", "Hugo", "Ines",
    "Isaac", "Jade", "James", "Jonas", "Kai", "Kemi", "Lars", "Laura", "Leo", "Lina",
    "Lucas", "Maya", "Mateo", "Mia", "Nadia", "Noah", "Nora", "Omar", "Olivia", "Priya",
    "Quinn", "Rafael", "Rosa", "Sam", "Sara", "Sofia", "Tariq", "Theo", "Uma", "Victor",
    "Wei", "Yara", "Yusuf", "Zoe",
)  # fmt: skip

SURNAME_HEADS = (
    "Al", "Bar", "Bel", "Car", "Dal", "Esk", "Fen", "Gar", "Hal", "Ish",
    "Kar", "Lin", "Mar", "Nor", "Ol", "Pen", "Ros", "Sal", "Tor", "Val",
)  # fmt: skip

SURNAME_TAILS = (
    "berg", "dottir", "ez", "ford", "ini", "ley", "man", "mont", "ova", "quist",
    "ridge", "sen", "son", "stein", "ton", "vik", "wood", "y",
)  # fmt: skip

EMAIL_DOMAINS = ("example.com", "example.net", "example.org")
"""Domains reserved for examples (RFC 2606): no synthetic address can reach a real person."""

DEPTHS = ("ACQUAINTANCE", "FRIEND", "CLOSE_FRIEND", "FAMILY", "PARTNER")
DEPTH_WEIGHTS = (0.15, 0.35, 0.20, 0.22, 0.08)
DEPTH_BUDGET_CENTS = (
    (1_500, 4_000),
    (2_500, 8_000),
    (4_000, 15_000),
    (3_000, 20_000),
    (8_000, 40_000),
)
"""Budget range per depth, in cents, ACQUAINTANCE $15-40 up to PARTNER $80-400."""

EXTRA_KINDS = ("HOLIDAY", "ANNIVERSARY", "GRADUATION", "OTHER")
EXTRA_KIND_WEIGHTS = (0.45, 0.20, 0.10, 0.25)
"""Occasions besides each relationship's birthday."""

HOLIDAYS = ("01-01", "02-14", "03-08", "05-10", "06-15", "10-31", "12-25", "12-31")
HOLIDAY_WEIGHTS = (0.08, 0.15, 0.07, 0.12, 0.08, 0.05, 0.38, 0.07)
"""Fixed-date holidays (MM-DD): New Year, Valentine's, Women's Day, Mother's Day, ..."""

CATEGORIES = (
    "books", "experiences", "flowers", "gadgets", "home", "jewelry",
    "food", "wellness", "games", "fashion", "music", "outdoors",
)  # fmt: skip

MEDIAN_PRICE_CENTS = (
    2_000,
    12_000,
    4_500,
    9_000,
    5_000,
    15_000,
    3_500,
    4_000,
    3_000,
    6_000,
    3_500,
    7_000,
)
"""Median price per category, in cents; prices spread log-normally around it."""

ADJECTIVES = (
    "Classic", "Deluxe", "Handmade", "Mini", "Modern", "Organic", "Personalised", "Premium",
    "Rustic", "Signature", "Vintage", "Everyday",
)  # fmt: skip

PRODUCTS = (
    ("novel", "cookbook", "poetry collection", "travel guide"),
    ("tasting dinner", "spa day", "concert tickets", "pottery class"),
    ("rose bouquet", "orchid", "tulip bunch", "dried flower wreath"),
    ("smart speaker", "wireless earbuds", "e-reader", "fitness tracker"),
    ("scented candle", "throw blanket", "ceramic vase", "coffee mugs"),
    ("silver necklace", "gold earrings", "charm bracelet", "watch"),
    ("chocolate box", "cheese hamper", "olive oil set", "coffee beans"),
    ("bath set", "yoga mat", "massage oil", "tea sampler"),
    ("board game", "jigsaw puzzle", "card game", "chess set"),
    ("scarf", "leather wallet", "sunglasses", "knit sweater"),
    ("vinyl record", "ukulele", "headphones", "concert poster"),
    ("camping lantern", "hiking backpack", "picnic set", "water bottle"),
)
"""Product nouns per category, in the order of CATEGORIES."""

TAGS = (
    ("reading", "fiction", "cooking", "travel"),
    ("memorable", "date-night", "relaxing", "creative"),
    ("romantic", "seasonal", "fresh", "decor"),
    ("tech", "music", "reading", "fitness"),
    ("cozy", "decor", "handmade", "kitchen"),
    ("luxury", "romantic", "classic", "personalised"),
    ("gourmet", "sweet", "sharing", "coffee"),
    ("self-care", "relaxing", "fitness", "organic"),
    ("family", "strategy", "party", "classic"),
    ("style", "winter", "summer", "leather"),
    ("music", "retro", "creative", "audio"),
    ("adventure", "summer", "family", "eco"),
)
"""Tags per category, in the order of CATEGORIES."""
