/// Realistic names for the synthetic shop: what a demo dashboard shows should look like a shop.
enum ShopCatalog {
    struct CategoryRange {
        let name: String
        /// Price range in cents.
        let minCents: Int
        let maxCents: Int
        let products: [String]
    }

    static let categories: [CategoryRange] = [
        .init(
            name: "books", minCents: 599, maxCents: 4_999,
            products: [
                "Paperback Thriller", "Hardcover Cookbook", "Illustrated Atlas", "Poetry Collection",
                "Sci-Fi Anthology", "Travel Guide", "History of Rome", "Children's Picture Book",
            ]),
        .init(
            name: "electronics", minCents: 1_999, maxCents: 89_999,
            products: [
                "Wireless Earbuds", "USB-C Charger", "Bluetooth Speaker", "4K Monitor", "Mechanical Keyboard",
                "Noise-Cancelling Headphones", "Smart Watch", "Portable SSD",
            ]),
        .init(
            name: "garden", minCents: 499, maxCents: 24_999,
            products: [
                "Garden Hose", "Pruning Shears", "Terracotta Pot", "Tomato Seeds", "Cordless Hedge Trimmer",
                "Bird Feeder", "Compost Bin", "Watering Can",
            ]),
        .init(
            name: "grocery", minCents: 149, maxCents: 2_999,
            products: [
                "Olive Oil", "Arabica Coffee Beans", "Basmati Rice", "Dark Chocolate", "Green Tea",
                "Maple Syrup", "Sea Salt", "Rolled Oats",
            ]),
        .init(
            name: "toys", minCents: 799, maxCents: 12_999,
            products: [
                "Building Blocks Set", "Plush Bear", "Remote Control Car", "Jigsaw Puzzle", "Wooden Train",
                "Board Game", "Kite", "Modeling Clay",
            ]),
        .init(
            name: "clothing", minCents: 999, maxCents: 19_999,
            products: [
                "Cotton T-Shirt", "Denim Jeans", "Wool Sweater", "Rain Jacket", "Running Socks",
                "Leather Belt", "Linen Shirt", "Knit Beanie",
            ]),
        .init(
            name: "sports", minCents: 1_299, maxCents: 39_999,
            products: [
                "Yoga Mat", "Running Shoes", "Tennis Racket", "Dumbbell Pair", "Cycling Helmet",
                "Water Bottle", "Resistance Bands", "Football",
            ]),
        .init(
            name: "beauty", minCents: 399, maxCents: 8_999,
            products: [
                "Face Moisturizer", "Lip Balm", "Shampoo", "Sunscreen SPF 50", "Eau de Parfum",
                "Hand Cream", "Nail Polish", "Charcoal Soap",
            ]),
        .init(
            name: "home", minCents: 899, maxCents: 29_999,
            products: [
                "Scented Candle", "Cotton Bath Towel", "Cast Iron Skillet", "Throw Pillow", "Table Lamp",
                "Chef's Knife", "French Press", "Wall Clock",
            ]),
        .init(
            name: "pet supplies", minCents: 299, maxCents: 9_999,
            products: [
                "Dog Leash", "Cat Scratching Post", "Dry Dog Food", "Aquarium Filter", "Bird Seed",
                "Chew Toy", "Pet Bed", "Litter Box",
            ]),
    ]

    static let firstNames = [
        "Alice", "Bob", "Carla", "David", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kaya", "Liam",
        "Maya", "Noah", "Olga", "Pedro", "Quinn", "Rosa", "Sven", "Tara", "Umar", "Vera", "Wei", "Yusuf", "Zoe",
    ]
    static let lastNames = [
        "Smith", "Garcia", "Müller", "Rossi", "Dubois", "Kowalski", "Tanaka", "Okafor", "Silva", "Novak",
        "Jensen", "Kim", "Nguyen", "Haddad", "O'Brien", "Ivanova",
    ]
    static let cities = [
        "Lisbon", "Berlin", "Lyon", "Milan", "Kraków", "Osaka", "Lagos", "São Paulo", "Prague", "Aarhus",
        "Seoul", "Hanoi", "Beirut", "Dublin", "Toronto", "Austin",
    ]
}
