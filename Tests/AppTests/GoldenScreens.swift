// Golden screens for ViewGoldenTests (fixture and engine snapshots; sizes in the test cases). Regenerate with update_goldens.py.
enum GoldenScreens {
    static let screens: [String: String] = [
        "categories": #"""
         cdctop › fixture › Categories            profile shop (default) │ 12:00:00 UTC
          1   2   3 Categories   4   5   6   7   8   9   0                   theme dark
        ┌ Categories · sorted by total desc ───────────────────────────────────────────┐
        │category             window      last 5m         total▼  share                │
        │electronics        3,816.48    44,818.88   1,183,376.92  12.3% █▉             │
        │books              4,770.60    40,557.24   1,110,166.96  11.6% █▊             │
        │garden             5,724.72    37,601.08   1,040,828.56  10.9% █▋             │
        │toys               3,180.40    36,907.84     973,747.36  10.2% █▌             │
        │grocery            4,134.52    32,428.40     904,399.72   9.4% █▍             │
        │fashion            5,088.64    30,336.84     832,848.12   8.7% █▎             │
        │sports             2,544.32    28,668.56     767,460.04   8.0% █▎             │
        │beauty             3,498.44    25,067.80     692,076.04   7.2% █▏             │
        │home               4,452.56    25,199.56     629,642.12   6.6% █              │
        │automotive         1,908.24    20,100.16     554,812.96   5.8% ▉              │
        │music              2,862.36    17,374.12     484,197.68   5.0% ▊              │
        │家電 (applianc…      318.04    16,563.84     418,913.88   4.4% ▋              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        └──────────────────────────────────────────────────────────────────────────────┘
         Kafka ● ok │ Redis ○ off │ Warehouse ○ off │ state ● 3.0s ago      malformed 3
         ? help  q quit  0-9/Tab views  ↑↓ move  s/S sort  / filter  p pause  t theme
        """#,
        "categories-sorted-filtered": #"""
         cdctop › fixture › Categories › /o       profile shop (default) │ 12:00:00 UTC
          1   2   3 Categories   4   5   6   7   8   9   0                   theme dark
        ┌ Categories · sorted by category asc · filter /o: 8 match ────────────────────┐
        │category▲            window      last 5m          total  share                │
        │automotive         1,908.24    20,100.16     554,812.96   5.8% ▉              │
        │books              4,770.60    40,557.24   1,110,166.96  11.6% █▊             │
        │electronics        3,816.48    44,818.88   1,183,376.92  12.3% █▉             │
        │fashion            5,088.64    30,336.84     832,848.12   8.7% █▎             │
        │grocery            4,134.52    32,428.40     904,399.72   9.4% █▍             │
        │home               4,452.56    25,199.56     629,642.12   6.6% █              │
        │sports             2,544.32    28,668.56     767,460.04   8.0% █▎             │
        │toys               3,180.40    36,907.84     973,747.36  10.2% █▌             │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        └──────────────────────────────────────────────────────────────────────────────┘
         Kafka ● ok │ Redis ○ off │ Warehouse ○ off │ state ● 3.0s ago      malformed 3
         ? help  q quit  0-9/Tab views  ↑↓ move  s/S sort  / filter  p pause  t theme
        """#,
        "changes": #"""
         cdctop › fixture › Tables › transaction  profile shop (default) │ 12:00:00 UTC
          1   2 Tables   3   4   5   6   7   8   9   0                       theme dark
        ┌ transaction · FOLLOWING newest · 40 kept · f freezes · Enter opens ──────────┐
        │commit   op   key      position   changes                                     │
        │11:59:59 u    40999    p0@30999   status new → shipped, amount 79.00 → 80.50  │
        │11:59:59 c    40998    p2@30998   id=40998 status=new     amount=78.00 custom…│
        │11:59:59 c    40997    p1@30997   id=40997 status=new     amount=77.00 custom…│
        │11:59:59 u    40996    p0@30996   status new → paid, amount 76.00 → 77.50     │
        │11:59:59 c    40995    p2@30995   id=40995 status=new     amount=75.00 custom…│
        │11:59:59 d    40994    p1@30994   id=40994 status=new     amount=74.00 custom…│
        │11:59:59 u    40993    p0@30993   status new → shipped, amount 73.00 → 74.50  │
        │11:59:59 c    40992    p2@30992   id=40992 status=new     amount=72.00 custom…│
        │11:59:59 c    40991    p1@30991   id=40991 status=new     amount=71.00 custom…│
        │11:59:59 u    40990    p0@30990   status new → paid, amount 70.00 → 71.50     │
        │11:59:59 c    40989    p2@30989   id=40989 status=new     amount=69.00 custom…│
        │11:59:59 c    40988    p1@30988   id=40988 status=new     amount=68.00 custom…│
        │11:59:59 d    40987    p0@30987   id=40987 status=new     amount=67.00 custom…│
        │11:59:59 c    40986    p2@30986   id=40986 status=new     amount=66.00 custom…│
        │11:59:59 c    40985    p1@30985   id=40985 status=new     amount=65.00 custom…│
        │11:59:59 u    40984    p0@30984   status new → paid, amount 64.00 → 65.50     │
        │11:59:58 c    40983    p2@30983   id=40983 status=new     amount=63.00 custom…│
        └───────────────────────────────────────────────────────────────────────1-17/40┘
         Kafka ● ok │ Redis ○ off │ Warehouse ○ off │ state ● 3.0s ago      malformed 3
         ? help  q quit  0-9/Tab views  ↑↓ move  Enter open  f freeze  / filter
        """#,
        "engine-categories": #"""
         cdctop › engine fixture › Categories               profile shop │ 11:40:17 UTC
          1   2   3 Categories   4   5   6   7   8   9   0                   theme dark
        ┌ Categories · sorted by total desc ───────────────────────────────────────────┐
        │category             window      last 5m         total▼  share                │
        │electronics       40,039.10   856,328.12   1,375,943.31  56.1% ████████▍      │
        │garden            12,996.74   221,498.86     363,545.54  14.8% ██▎            │
        │home               7,351.87    91,883.05     147,705.39   6.0% ▉              │
        │toys               4,525.12    77,894.91     124,946.56   5.1% ▊              │
        │sports             4,751.21    65,438.38     113,235.42   4.6% ▊              │
        │beauty             2,740.48    51,687.87      86,335.24   3.5% ▌              │
        │pet supplies       2,487.30    38,641.01      67,835.85   2.8% ▍              │
        │books              2,810.55    40,169.44      67,632.99   2.8% ▍              │
        │clothing           2,413.21    43,860.00      63,606.71   2.6% ▍              │
        │grocery              824.31    24,251.21      40,738.82   1.7% ▎              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        └──────────────────────────────────────────────────────────────────────────────┘
         Kafka ● ok │ Redis ○ off │ Warehouse ○ off │ state ● 2.0s ago      msgs 12,000
         ? help  q quit  0-9/Tab views  ↑↓ move  s/S sort  / filter  p pause  t theme
        """#,
        "engine-changes": #"""
         cdctop › engine fixture › Tables › transaction                         profile shop │ 11:40:17 UTC
          1 Overview 2 Tables  3 Categories 4 Lag 5 History 6 Alerts 7 Latency 8 KPIs 9 Snapshot 0 Trends
        ┌ transaction · FOLLOWING newest · 2,048 kept · f freezes · Enter opens ───────────────────────────┐
        │commit   op   key      position   changes                                                         │
        │11:40:17 c    2613     p0@1276    transaction_id=2613 customer_id= 8 amount=  51.98 status=new  c…│
        │11:40:16 c    2612     p2@1286    transaction_id=2612 customer_id=22 amount= 875.37 status=new  c…│
        │11:40:16 c    2611     p1@1269    transaction_id=2611 customer_id=45 amount= 102.45 status=new  c…│
        │11:40:16 c    2610     p0@1275    transaction_id=2610 customer_id= 2 amount=3137.08 status=new  c…│
        │11:40:16 c    2609     p2@1285    transaction_id=2609 customer_id= 2 amount= 787.09 status=new  c…│
        │11:40:16 c    2608     p1@1268    transaction_id=2608 customer_id= 2 amount=  10.18 status=new  c…│
        │11:40:16 u    2132     p0@1274    status new → paid                                               │
        │11:40:16 c    2607     p1@1267    transaction_id=2607 customer_id=57 amount= 753.49 status=new  c…│
        │11:40:15 c    2606     p0@1273    transaction_id=2606 customer_id=37 amount=2069.12 status=new  c…│
        │11:40:15 u    1945     p1@1266    status new → paid                                               │
        │11:40:15 c    2605     p2@1284    transaction_id=2605 customer_id=47 amount= 263.85 status=new  c…│
        │11:40:15 c    2604     p1@1265    transaction_id=2604 customer_id=50 amount= 445.47 status=new  c…│
        │11:40:15 c    2603     p0@1272    transaction_id=2603 customer_id=50 amount= 295.10 status=new  c…│
        │11:40:15 d    1714     p1@1263    transaction_id=1714 customer_id=50 amount= 161.92 status=new  c…│
        │11:40:15 c    2602     p2@1283    transaction_id=2602 customer_id=38 amount=  92.16 status=new  c…│
        │11:40:15 c    2601     p1@1262    transaction_id=2601 customer_id=14 amount= 702.68 status=new  c…│
        │11:40:14 c    2600     p0@1271    transaction_id=2600 customer_id=57 amount= 594.35 status=new  c…│
        │11:40:14 c    2599     p2@1282    transaction_id=2599 customer_id=19 amount=3088.14 status=new  c…│
        │11:40:14 c    2598     p1@1261    transaction_id=2598 customer_id=27 amount= 335.11 status=new  c…│
        │11:40:14 u    1055     p0@1270    status new → paid                                               │
        │11:40:14 u    2387     p2@1281    status new → paid                                               │
        │11:40:14 u    817      p1@1260    amount 1015.95 →  203.19                                        │
        │11:40:14 c    2597     p1@1259    transaction_id=2597 customer_id=16 amount=4619.25 status=new  c…│
        └─────────────────────────────────────────────────────────────────────────────────────────1-23/2048┘
         Kafka ● ok │ Redis mirror ○ off │ Warehouse ○ off │ state ● 2.0s ago       msgs 12,000 · refused 0
         ? help  q quit  0-9/Tab views  ↑↓ move  Enter open  f freeze  / filter  Esc back  p pause
        """#,
        "engine-changes-filtered": #"""
         cdctop › engine fixture › Tables › transaction                         profile shop │ 11:40:17 UTC
          1 Overview 2 Tables  3 Categories 4 Lag 5 History 6 Alerts 7 Latency 8 KPIs 9 Snapshot 0 Trends
        ┌ transaction · FOLLOWING newest · 2,048 kept · f freezes · /op:u: 416 match · Enter opens ────────┐
        │commit   op   key      position   changes                                                         │
        │11:40:16 u    2132     p0@1274    status new → paid                                               │
        │11:40:15 u    1945     p1@1266    status new → paid                                               │
        │11:40:14 u    1055     p0@1270    status new → paid                                               │
        │11:40:14 u    2387     p2@1281    status new → paid                                               │
        │11:40:14 u    817      p1@1260    amount 1015.95 →  203.19                                        │
        │11:40:12 u    1520     p0@1266    status paid → shipped                                           │
        │11:40:12 u    1374     p2@1276    amount 2296.47 →  765.49                                        │
        │11:40:10 u    608      p1@1250    amount  866.32 →  797.14                                        │
        │11:40:10 u    488      p1@1249    status paid → shipped                                           │
        │11:40:09 u    412      p1@1248    status paid → shipped                                           │
        │11:40:09 u    2053     p0@1257    status new → paid                                               │
        │11:40:09 u    903      p2@1267    status new → paid                                               │
        │11:40:08 u    1585     p2@1266    status new → paid                                               │
        │11:40:08 u    2302     p2@1265    status new → paid                                               │
        │11:40:08 u    2114     p1@1245    status new → paid                                               │
        │11:40:08 u    909      p2@1262    amount  417.82 →  314.05                                        │
        │11:40:07 u    1806     p1@1243    status new → paid                                               │
        │11:40:07 u    65       p1@1242    status new → paid                                               │
        │11:40:07 u    2338     p0@1254    status new → paid                                               │
        │11:40:06 u    332      p0@1252    status paid → shipped                                           │
        │11:40:06 u    837      p2@1258    status new → paid                                               │
        │11:40:06 u    1376     p1@1239    status new → paid                                               │
        │11:40:05 u    2494     p2@1255    status new → paid                                               │
        └──────────────────────────────────────────────────────────────────────────────────────────1-23/416┘
         Kafka ● ok │ Redis mirror ○ off │ Warehouse ○ off │ state ● 2.0s ago       msgs 12,000 · refused 0
         ? help  q quit  0-9/Tab views  ↑↓ move  Enter open  f freeze  / filter  Esc back  p pause
        """#,
        "engine-event": #"""
         cdctop › engine fixture › Tables › transaction › event [2]@1286        profile shop │ 11:40:17 UTC
          1 Overview 2 Tables  3 Categories 4 Lag 5 History 6 Alerts 7 Latency 8 KPIs 9 Snapshot 0 Trends
        ┌ transaction · c · shop.public.transaction[2]@1286 ───────────────────────────────────────────────┐
        │key 2612   commit 11:40:16 UTC   position shop.public.transaction[2]@1286                         │
        │                                                                                                  │
        │column             before (none)                           after                                  │
        │transaction_id                                               2612                                 │
        │customer_id                                                    22                                 │
        │amount                                                     875.37                                 │
        │status                                                     new                                    │
        │created_at                                                 2026-11-22T11:40:16.968682Z            │
        │                                                                                                  │
        │                                                                                                  │
        │                                                                                                  │
        │                                                                                                  │
        │                                                                                                  │
        │                                                                                                  │
        │                                                                                                  │
        │                                                                                                  │
        │                                                                                                  │
        │                                                                                                  │
        │                                                                                                  │
        │                                                                                                  │
        │                                                                                                  │
        │                                                                                                  │
        │                                                                                                  │
        │                                                                                                  │
        └──────────────────────────────────────────────────────────────────────────────────────────────────┘
         Kafka ● ok │ Redis mirror ○ off │ Warehouse ○ off │ state ● 2.0s ago       msgs 12,000 · refused 0
         ? help  q quit  0-9/Tab views  ↑↓ move  y raw JSON  Esc back  p pause  t theme  m mirror
        """#,
        "engine-event-raw": #"""
         cdctop › engine fixture › Tables › transaction › event [2]@1286        profile shop │ 11:40:17 UTC
          1 Overview 2 Tables  3 Categories 4 Lag 5 History 6 Alerts 7 Latency 8 KPIs 9 Snapshot 0 Trends
        ┌ transaction · c · shop.public.transaction[2]@1286 ───────────────────────────────────────────────┐
        │key 2612   commit 11:40:16 UTC   position shop.public.transaction[2]@1286                         │
        │                                                                                                  │
        │raw JSON value, 3,494 bytes (y: back to the table)                                                │
        │{                                                                                                 │
        │  "schema": {                                                                                     │
        │    "type": "struct",                                                                             │
        │    "fields": [                                                                                   │
        │      {                                                                                           │
        │        "type": "struct",                                                                         │
        │        "fields": [                                                                               │
        │          {                                                                                       │
        │            "type": "int64",                                                                      │
        │            "optional": false,                                                                    │
        │            "default": 0,                                                                         │
        │            "field": "transaction_id"                                                             │
        │          },                                                                                      │
        │          {                                                                                       │
        │            "type": "int64",                                                                      │
        │            "optional": false,                                                                    │
        │            "field": "customer_id"                                                                │
        │          },                                                                                      │
        │          {                                                                                       │
        │            "type": "bytes",                                                                      │
        │            "optional": false,                                                                    │
        └──────────────────────────────────────────────────────────────────────────────────────────────────┘
         Kafka ● ok │ Redis mirror ○ off │ Warehouse ○ off │ state ● 2.0s ago       msgs 12,000 · refused 0
         ? help  q quit  0-9/Tab views  ↑↓ move  y table  Esc back  p pause  t theme  m mirror  : command
        """#,
        "engine-lag": #"""
         cdctop › engine fixture › Lag                                                              profile shop │ 11:40:17 UTC
          1 Overview   2 Tables   3 Categories   4 Lag   5 History   6 Alerts   7 Latency   8 KPIs   9 Snapshot   0 Trends
        ┌ Topics shop.public.* · lag 300 msgs (group 808) · sorted by topic ───────────────────────────────────────────────────┐
        │topic▲             p committed position  high wm    lag group lag  lag s trend (top)                           verdict│
        │customer           0         0       20       20      0        20     0s  ▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁    0 OK     │
        │customer           1         0       20       20      0        20     0s  ▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁    0 OK     │
        │customer           2         0       20       20      0        20     0s  ▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁    0 OK     │
        │product            0         3       53       53      0        50     0s  ▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁    0 OK     │
        │product            1         0       48       48      0        48     0s  ▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁    0 OK     │
        │product            2         4       54       54      0        50     0s  ▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁    0 OK     │
        │transaction        0      1227     1277     1277      0        50     0s  ▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁    0 OK     │
        │transaction        1      1220     1270     1270      0        50     0s  ▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁    0 OK     │
        │transaction        2      1237     1287     1287      0        50     0s  ▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁    0 OK     │
        │transactiondetail  0      2605     2655     2655      0        50     0s  ▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁    0 OK     │
        │transactiondetail  1      2622     2672     2672      0        50     0s  ▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁    0 OK     │
        │transactiondetail  2      2574     2624     2924    300       350  525ms  ███████████████████████████████  300 STALLED│
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        └──────────────────────────────────────────────────────────────────────────────────────────────────────────────────────┘
         Kafka ● ok │ Redis mirror ○ off │ Warehouse ○ off │ state ● 2.0s ago     msgs 12,000 · malformed 0 · refused 0 · dup 0
         ? help  q quit  0-9/Tab views  ↑↓ move  s/S sort  / filter  p pause  t theme  m mirror  : command
        """#,
        "engine-lag-narrow": #"""
         cdctop › engine fixture › Lag  profile shop │ 11:40:17 UTC
          1   2   3   4 Lag   5   6   7   8   9   0      theme dark
        ┌ Topics shop.public.* · lag 300 msgs (group 808) · sorte… ┐
        │topic▲        p  high wm    lag group lag  lag s verdict  │
        │customer      0       20      0        20     0s OK       │
        │customer      1       20      0        20     0s OK       │
        │customer      2       20      0        20     0s OK       │
        │product       0       53      0        50     0s OK       │
        │product       1       48      0        48     0s OK       │
        │product       2       54      0        50     0s OK       │
        │transaction   0     1277      0        50     0s OK       │
        │transaction   1     1270      0        50     0s OK       │
        │transaction   2     1287      0        50     0s OK       │
        └────────────────────────────────────────────────────1-9/12┘
         Kafka ● ok │ Redis ○ off │ Warehouse ○ off │ state ● 2.0s a
         ? help  q quit  0-9/Tab views  ↑↓ move  s/S sort
        """#,
        "engine-lag-sorted": #"""
         cdctop › engine fixture › Lag                                          profile shop │ 11:40:17 UTC
          1 Overview 2 Tables 3 Categories 4 Lag  5 History 6 Alerts 7 Latency 8 KPIs 9 Snapshot 0 Trends
        ┌ Topics shop.public.* · lag 300 msgs (group 808) · sorted by lag ─────────────────────────────────┐
        │topic              p committed position  high wm   lag▼ group lag  lag s trend (top)       verdict│
        │transactiondetail  2      2574     2624     2924    300       350  525ms ████████████  300 STALLED│
        │customer           0         0       20       20      0        20     0s ▁▁▁▁▁▁▁▁▁▁▁▁    0 OK     │
        │customer           1         0       20       20      0        20     0s ▁▁▁▁▁▁▁▁▁▁▁▁    0 OK     │
        │customer           2         0       20       20      0        20     0s ▁▁▁▁▁▁▁▁▁▁▁▁    0 OK     │
        │product            0         3       53       53      0        50     0s ▁▁▁▁▁▁▁▁▁▁▁▁    0 OK     │
        │product            1         0       48       48      0        48     0s ▁▁▁▁▁▁▁▁▁▁▁▁    0 OK     │
        │product            2         4       54       54      0        50     0s ▁▁▁▁▁▁▁▁▁▁▁▁    0 OK     │
        │transaction        0      1227     1277     1277      0        50     0s ▁▁▁▁▁▁▁▁▁▁▁▁    0 OK     │
        │transaction        1      1220     1270     1270      0        50     0s ▁▁▁▁▁▁▁▁▁▁▁▁    0 OK     │
        │transaction        2      1237     1287     1287      0        50     0s ▁▁▁▁▁▁▁▁▁▁▁▁    0 OK     │
        │transactiondetail  0      2605     2655     2655      0        50     0s ▁▁▁▁▁▁▁▁▁▁▁▁    0 OK     │
        │transactiondetail  1      2622     2672     2672      0        50     0s ▁▁▁▁▁▁▁▁▁▁▁▁    0 OK     │
        │                                                                                                  │
        │                                                                                                  │
        │                                                                                                  │
        │                                                                                                  │
        │                                                                                                  │
        └──────────────────────────────────────────────────────────────────────────────────────────────────┘
         Kafka ● ok │ Redis mirror ○ off │ Warehouse ○ off │ state ● 2.0s ago       msgs 12,000 · refused 0
         ? help  q quit  0-9/Tab views  ↑↓ move  s/S sort  / filter  p pause  t theme  m mirror  : command
        """#,
        "engine-overview": #"""
         cdctop › engine fixture › Overview                 profile shop │ 11:40:17 UTC
          1 Overview   2   3   4   5   6   7   8   9   0                     theme dark
        ┌ Window revenue ──┐┌ Last 5m revenue ─┐┌ Total revenue ───┐┌ Avg ticket ──────┐
        │         80,939.89││      1,511,652.85││      2,451,525.83││          1,032.66│
        │ partial 17.1s/30s││          1,459 tx││       since start││      revenue ÷ tx│
        └──────────────────┘└──────────────────┘└──────────────────┘└──────────────────┘
        ┌ Transactions ────┐┌ Events/s ────────┐┌ Total lag ───────┐┌ Freshness ───────┐
        │             2,374││               400││          300 msgs││             400ms│
        │     40.0 new tx/s││       12,000 msgs││         caught up││ now − last commit│
        └──────────────────┘└──────────────────┘└──────────────────┘└──────────────────┘
        ┌ Revenue per 30s window (last = partial) ─────┐┌ Top categories (total) ──────┐
        │186k│                           ▁▅   █     ▄  ││electronics  ████ 1,375,943.31│
        │    │                          ▅██▇  █▆▇▇▅▁█▆ ││garden       █      363,545.54│
        │    │                         █████  ████████ ││home         ▍      147,705.39│
        │    │                         █████▃█████████ ││toys         ▍      124,946.56│
        │    │                         ███████████████ ││sports       ▍      113,235.42│
        │    │                         ███████████████▇││beauty       ▎       86,335.24│
        │    │                         ████████████████││pet supplies ▎       67,835.85│
        │    │                         ████████████████││books        ▎       67,632.99│
        │   0│                         ████████████████││clothing     ▏       63,606.71│
        │                              11:32      11:40││grocery      ▏       40,738.82│
        └──────────────────────────────────────────────┘└──────────────────────────────┘
         Kafka ● ok │ Redis ○ off │ Warehouse ○ off │ state ● 2.0s ago      msgs 12,000
         ? help  q quit  0-9/Tab views  p pause  t theme  m mirror  : command
        """#,
        "engine-overview-120": #"""
         cdctop › engine fixture › Overview                                                         profile shop │ 11:40:17 UTC
          1 Overview   2 Tables   3 Categories   4 Lag   5 History   6 Alerts   7 Latency   8 KPIs   9 Snapshot   0 Trends
        ┌ Window revenue ────────────┐┌ Last 5m revenue ───────────┐┌ Total revenue ─────────────┐┌ Avg ticket ────────────────┐
        │                   80,939.89││                1,511,652.85││                2,451,525.83││                    1,032.66│
        │           partial 17.1s/30s││                    1,459 tx││                 since start││                revenue ÷ tx│
        └────────────────────────────┘└────────────────────────────┘└────────────────────────────┘└────────────────────────────┘
        ┌ Transactions ──────────────┐┌ Events/s ──────────────────┐┌ Total lag ─────────────────┐┌ Freshness ─────────────────┐
        │                       2,374││                         400││                    300 msgs││                       400ms│
        │               40.0 new tx/s││                 12,000 msgs││                   caught up││           now − last commit│
        └────────────────────────────┘└────────────────────────────┘└────────────────────────────┘└────────────────────────────┘
        ┌ Revenue per 30s window (last = partial) ─────────────────────────────┐┌ Top categories (total) ──────────────────────┐
        │186k│                                                    ▅   █     ▃  ││electronics  ████████████████████ 1,375,943.31│
        │    │                                                  ▂██▅  █▄▅▅▂ █▃ ││garden       █████▎                 363,545.54│
        │    │                                                 ▅████  █████▆██ ││home         ██▏                    147,705.39│
        │    │                                                 █████ ▂████████ ││toys         █▉                     124,946.56│
        │    │                                                 █████▄█████████ ││sports       █▋                     113,235.42│
        │    │                                                 ███████████████ ││beauty       █▎                      86,335.24│
        │    │                                                 ███████████████▆││pet supplies █                       67,835.85│
        │    │                                                 ████████████████││books        █                       67,632.99│
        │    │                                                 ████████████████││clothing     ▉                       63,606.71│
        │    │                                                 ████████████████││grocery      ▋                       40,738.82│
        │   0│                                                 ████████████████││                                              │
        │                                                      11:32      11:40││                                              │
        └──────────────────────────────────────────────────────────────────────┘└──────────────────────────────────────────────┘
        ┌ Tables (2 for details) ──────────────────────────────────────────────────────────────────────────────────────────────┐
        │table                                      c       u       d       r  tomb    ev/s    last  malf                      │
        │customer                                   0       0       0      60     0    12.0   7m43s     0                      │
        │product                                    0     131       0      24     0    31.0    1.2s     0                      │
        │transaction                            2,593     743     239      20   239     100   400ms     0                      │
        │transactiondetail                      6,513     156     621      40   621     100   400ms     0                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        └──────────────────────────────────────────────────────────────────────────────────────────────────────────────────────┘
         Kafka ● ok │ Redis mirror ○ off │ Warehouse ○ off │ state ● 2.0s ago     msgs 12,000 · malformed 0 · refused 0 · dup 0
         ? help  q quit  0-9/Tab views  p pause  t theme  m mirror  : command
        """#,
        "engine-overview-ascii": #"""
         cdctop > engine fixture > Overview                 profile shop | 11:40:17 UTC
          1 Overview   2   3   4   5   6   7   8   9   0                     theme dark
        + Window revenue --++ Last 5m revenue -++ Total revenue ---++ Avg ticket ------+
        |         80,939.89||      1,511,652.85||      2,451,525.83||          1,032.66|
        | partial 17.1s/30s||          1,459 tx||       since start||      revenue / tx|
        +------------------++------------------++------------------++------------------+
        + Transactions ----++ Events/s --------++ Total lag -------++ Freshness -------+
        |             2,374||               400||          300 msgs||             400ms|
        |     40.0 new tx/s||       12,000 msgs||         caught up|| now - last commit|
        +------------------++------------------++------------------++------------------+
        + Revenue per 30s window (last = partial) -----++ Top categories (total) ------+
        |186k|                           _=   #     ~  ||electronics  #### 1,375,943.31|
        |    |                          =###  #*##=_#* ||garden       #      363,545.54|
        |    |                         #####  ######## ||home                147,705.39|
        |    |                         #####-######### ||toys                124,946.56|
        |    |                         ############### ||sports              113,235.42|
        |    |                         ################||beauty               86,335.24|
        |    |                         ################||pet supplies         67,835.85|
        |    |                         ################||books                67,632.99|
        |   0|                         ################||clothing             63,606.71|
        |                              11:32      11:40||grocery              40,738.82|
        +----------------------------------------------++------------------------------+
         Kafka * ok | Redis o off | Warehouse o off | state * 2.0s ago      msgs 12,000
         ? help  q quit  0-9/Tab views  p pause  t theme  m mirror  : command
        """#,
        "engine-tables": #"""
         cdctop › engine fixture › Tables                   profile shop │ 11:40:17 UTC
          1   2 Tables   3   4   5   6   7   8   9   0                       theme dark
        ┌ CDC tables · counts by op (c create, u update, d delete, r snapshot read) ───┐
        │table                    c       u       d       r  tomb    ev/s    last  malf│
        │customer                 0       0       0      60     0    12.0   7m43s     0│
        │product                  0     131       0      24     0    31.0    1.2s     0│
        │transaction          2,593     743     239      20   239     100   400ms     0│
        │transactiondetail    6,513     156     621      40   621     100   400ms     0│
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        └──────────────────────────────────────────────────────────────────────────────┘
        ┌ Counters since start ────────────────────────────────────────────────────────┐
        │msgs 12,000 · tombstones 860 · heartbeats 0 · malformed 0 · refused 0         │
        │dropped 0 · late corrections 0 · duplicates 0 · unmatched 0 · ignored 0       │
        │parked 0                                                                      │
        │state /var/lib/cdctop/shop — checkpoint 2.0s ago, 9 so far                    │
        └──────────────────────────────────────────────────────────────────────────────┘
         Kafka ● ok │ Redis ○ off │ Warehouse ○ off │ state ● 2.0s ago      msgs 12,000
         ? help  q quit  0-9/Tab views  ↑↓ move  Enter open  s/S sort  / filter
        """#,
        "event": #"""
         cdctop › Tables › transaction › event [2]@30998  shop (default) │ 12:00:00 UTC
          1   2 Tables   3   4   5   6   7   8   9   0                       theme dark
        ┌ transaction · c · shop.public.transaction[2]@30998 ──────────────────────────┐
        │key 40998   commit 11:59:59 UTC   position shop.public.transaction[2]@30998   │
        │                                                                              │
        │column             before (none)                 after                        │
        │id                                               40998                        │
        │status                                           new                          │
        │amount                                           78.00                        │
        │customer_id                                      738                          │
        │note                                             gift wrap                    │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        └──────────────────────────────────────────────────────────────────────────────┘
         Kafka ● ok │ Redis ○ off │ Warehouse ○ off │ state ● 3.0s ago      malformed 3
         ? help  q quit  0-9/Tab views  ↑↓ move  y raw JSON  Esc back  p pause
        """#,
        "help": #"""
         cdctop › fixture › Overview              profile shop (default) │ 12:00:00 UTC
        ┌ Keys · cdctop · 1-20/28 · ↑↓ scroll ─────────────────────────────────────────┐
        │ 1-9 0  Tab  Shift-Tab    switch view (the numbered tabs at the top)          │
        │ ↑ ↓  j k  wheel          move the selection (it follows its row)             │
        │ PgUp PgDn  Home End  g G page up / down, first / last                        │
        │ Enter  →  l  click       drill in: table › changes › event; History: a day   │
        │ Enter (nothing to open)  a service failing: its error in full (as c)         │
        │ Esc  ←  h  Backspace     back out; a filter is cleared first                 │
        │ s  S                     sort a list by the next column / reverse            │
        │ /                        filter a list (changes: key text, op:u)             │
        │ f                        changes: follow the newest / freeze (N new counted) │
        │ y                        event: raw message / before-after table             │
        │ Y                        changes, event: copy the event's JSON (OSC 52)      │
        │ e  E                     export the view's rows: CSV / JSON, working dir     │
        │ :                        command: :kpis :table NAME :sort COL :export json   │
        │ :  Tab  ↑ ↓              complete names / recall earlier commands            │
        │ c                        connections: state, last error in full, retries     │
        │ w                        Trends: 5 min / 1 h / 1 day; ↑↓ pipeline or table   │
        │ p                        pause the display (engine and trends keep going)    │
        │ t  m  r                  next theme / Redis mirror on-off / History: reload  │
        │ ?  q  Ctrl-C             this help (↑↓ scroll, other keys close) / quit      │
        │                                                                              │
        └──────────────────────────────────────────────────────────────────────────────┘
         ? help  q quit  0-9/Tab views  p pause  t theme  m mirror  : command
        """#,
        "history": #"""
         cdctop › fixture › History               profile shop (default) │ 12:00:00 UTC
          1   2   3   4   5 History   6   7   8   9   0                      theme dark
        ┌ Daily revenue · ▲ above ≈3× median day ────┐┌ Reconciliation ────────────────┐
        │6.0M│                                     ▲▲││AGREE for 1m35s                 │
        │3.0M│                                     ██││since 11:58:25 UTC              │
        │   0│         ▅▅▇▇████████▇▇▄▄▇▇▇▇██████████││checked 11:59:56 UTC            │
        │              11-09        11-16       today││tx      engine 1,737,416        │
        │MM-DD UTC · loaded 12:00:00 · r reloads     ││        source 1,737,416        │
        └────────────────────────────────────────────┘│revenue engine 73,266,832.72    │
        ┌ Days (Enter shows a day's categories) ─────┐│        source 73,266,832.72    │
        │day                   tx        revenue     ││drift: none                     │
        │2025-11-23*    1,737,416  73,266,832.72 ████││lag at check: 0 msgs            │
        │2025-11-22        47,919   2,020,744.23 ██  ││source: shop @ 127.0.0.1:5432   │
        │2025-11-21        46,838   1,975,158.46 ██  ││                                │
        │2025-11-20        45,757   1,929,572.69 █▉  ││                                │
        │2025-11-19        44,676   1,883,986.92 █▉  ││                                │
        │2025-11-18        43,595   1,838,401.15 █▉  ││                                │
        │2025-11-17        42,514   1,792,815.38 █▊  ││                                │
        │2025-11-16        26,433   1,114,679.61 █▏  ││                                │
        │2025-11-15        40,352   1,701,643.84 █▊  ││                                │
        │2025-11-14        48,271   2,035,588.07 ██  ││                                │
        └─────────────────────────────────────1-10/15┘└────────────────────────────────┘
         Kafka ● ok │ Redis ○ off │ Warehouse ● ok │ state ● 3.0s ago       malformed 3
         ? help  q quit  0-9/Tab views  ↑↓ move  Enter day  r reload  p pause  t theme
        """#,
        "history-day": #"""
         cdctop › fixture › History › 2025-11-22  profile shop (default) │ 12:00:00 UTC
          1   2   3   4   5 History   6   7   8   9   0                      theme dark
        ┌ 2025-11-22 · 47,919 tx · 2,020,744.23 · E… ┐┌ Reconciliation ────────────────┐
        │category              revenue  share        ││AGREE for 1m35s                 │
        │electronics        143,757.00  13.2% █▌     ││since 11:58:25 UTC              │
        │books              134,173.20  12.3% █▍     ││checked 11:59:56 UTC            │
        │garden             124,589.40  11.4% █▎     ││tx      engine 1,737,416        │
        │toys               115,005.60  10.5% █▏     ││        source 1,737,416        │
        │grocery            105,421.80   9.6% █      ││revenue engine 73,266,832.72    │
        │fashion             95,838.00   8.8% █      ││        source 73,266,832.72    │
        │sports              86,254.20   7.9% ▉      ││drift: none                     │
        │beauty              76,670.40   7.0% ▊      ││lag at check: 0 msgs            │
        │home                67,086.60   6.1% ▋      ││source: shop @ 127.0.0.1:5432   │
        │automotive          57,502.80   5.3% ▋      ││                                │
        │music               47,919.00   4.4% ▌      ││                                │
        │家電 (applian…      38,335.20   3.5% ▍      ││                                │
        │                                            ││                                │
        │                                            ││                                │
        │                                            ││                                │
        │                                            ││                                │
        │                                            ││                                │
        └────────────────────────────────────────────┘└────────────────────────────────┘
         Kafka ● ok │ Redis ○ off │ Warehouse ● ok │ state ● 3.0s ago       malformed 3
         ? help  q quit  0-9/Tab views  ↑↓ move  Enter day  r reload  p pause  t theme
        """#,
        "history-off": #"""
         cdctop › fixture › History               profile shop (default) │ 12:00:00 UTC
          1   2   3   4   5 History   6   7   8   9   0                      theme dark
        ┌ History ───────────────────────────────────┐┌ Reconciliation ────────────────┐
        │                                            ││No reconciliation yet.          │
        │No warehouse connected.                     ││                                │
        │                                            ││cdctop compares its running     │
        │History shows daily revenue and             ││totals with the source database │
        │transactions from the PostgreSQL            ││(count and sum) when it is      │
        │warehouse that cdctop writes to.            ││caught up; the verdict shows    │
        │                                            ││here: agree, drift or waiting.  │
        │To enable it, start cdctop with             ││                                │
        │  --warehouse postgresql://USER@HOST:5432/DB││To enable it, start cdctop with │
        │                                            ││  --source postgresql://HOST/DB │
        │Today so far (live): 73,266,832.72          ││                                │
        │                                            ││                                │
        │                                            ││                                │
        │                                            ││                                │
        │                                            ││                                │
        │                                            ││                                │
        │                                            ││                                │
        │                                            ││                                │
        └────────────────────────────────────────────┘└────────────────────────────────┘
         Kafka ● ok │ Redis ○ off │ Warehouse ○ off │ state ● 3.0s ago      malformed 3
         ? help  q quit  0-9/Tab views  ↑↓ move  Enter day  r reload  p pause  t theme
        """#,
        "kpis": #"""
         cdctop › fixture › KPIs                       profile northwind │ 12:00:00 UTC
          1   2   3   4   5   6   7   8 KPIs   9   0                         theme dark
        ┌ 8 KPIs of northwind · sorted by 1st value desc ──────────────────────────────┐
        │KPI · group                        window  1st value▼   2nd value    3rd value│
        │transactions = count(*)                                                       │
        │  (all rows)                         7951     1737416                         │
        │revenue = sum(unit_price * quantity * (1 - discount))                         │
        │  (all rows)                    335293.67 73266832.72                         │
        │category_sales = sum(d.unit_price * d.quantity * (1 - d.discount)) by categor…│
        │  Beverages                       3816.48  1183376.92                         │
        │  Dairy Products                  4770.60  1110166.96                         │
        │  Confections                     5724.72  1040828.56                         │
        │  Meat/Poultry                    3180.40   973747.36                         │
        │  Seafood                         4134.52   904399.72                         │
        │  Condiments                      5088.64   832848.12                         │
        │  Grains/Cereals                  2544.32   767460.04                         │
        │  Produce                         3498.44   692076.04                         │
        │  12 rows wait for a lookup r…                                                │
        │units = sum(quantity)                                                         │
        │  (all rows)                        91436    19980284                         │
        │discounted_lines = count(*) · sum(d.quantity) by category_name                │
        └───────────────────────────────────────────────────────────────────────1-17/52┘
         Kafka ● ok │ Redis ○ off │ Warehouse ○ off │ state ● 3.0s ago      malformed 3
         ? help  q quit  0-9/Tab views  ↑↓ move  s/S sort  / filter  p pause  t theme
        """#,
        "kpis-120": #"""
         cdctop › fixture › KPIs                                                               profile northwind │ 12:00:00 UTC
          1 Overview   2 Tables   3 Categories   4 Lag   5 History   6 Alerts   7 Latency   8 KPIs   9 Snapshot   0 Trends
        ┌ 8 KPIs of northwind · sorted by 1st value desc ──────────────────────────────────────────────────────────────────────┐
        │KPI · group                                  window  1st value▼   2nd value    3rd value                              │
        │transactions = count(*)                                                                                               │
        │  (all rows)                                   7951     1737416                                                       │
        │revenue = sum(unit_price * quantity * (1 - discount))                                                                 │
        │  (all rows)                              335293.67 73266832.72                                                       │
        │category_sales = sum(d.unit_price * d.quantity * (1 - d.discount)) by category_name                                   │
        │  Beverages                                 3816.48  1183376.92                                                       │
        │  Dairy Products                            4770.60  1110166.96                                                       │
        │  Confections                               5724.72  1040828.56                                                       │
        │  Meat/Poultry                              3180.40   973747.36                                                       │
        │  Seafood                                   4134.52   904399.72                                                       │
        │  Condiments                                5088.64   832848.12                                                       │
        │  Grains/Cereals                            2544.32   767460.04                                                       │
        │  Produce                                   3498.44   692076.04                                                       │
        │  12 rows wait for a lookup row                                                                                       │
        │units = sum(quantity)                                                                                                 │
        │  (all rows)                                  91436    19980284                                                       │
        │discounted_lines = count(*) · sum(d.quantity) by category_name                                                        │
        │  Beverages                                    1590      347483     3127347                                           │
        │  Condiments                                   1325      289569     2606121                                           │
        │  Dairy Products                                993      217177     1954593                                           │
        │  Grains/Cereals                                883      193046     1737414                                           │
        │  Produce                                       722      157946     1421514                                           │
        │  Seafood                                       662      144784     1303056                                           │
        │orders_by_country = count(*) · avg(freight) by ship_country (totals only)                                             │
        │  USA                                                    434354       41.00                                           │
        │  Germany                                                248202       54.37                                           │
        │  Brazil                                                 173741       67.74                                           │
        │  France                                                 133647       81.11                                           │
        │  UK                                                     108588       94.48                                           │
        │  Venezuela                                               91442      107.85                                           │
        │  Austria                                                 78973      121.22                                           │
        │  Sweden                                                  69496      134.59                                           │
        │  Canada                                                  62050      147.96                                           │
        └───────────────────────────────────────────────────────────────────────────────────────────────────────────────1-33/52┘
         Kafka ● ok │ Redis mirror ○ off │ Warehouse ○ off │ state ● 3.0s ago          msgs 240,000 · malformed 3 · unmatched 9
         ? help  q quit  0-9/Tab views  ↑↓ move  s/S sort  / filter  p pause  t theme  m mirror  : command
        """#,
        "kpis-no-profile": #"""
         cdctop › fixture › KPIs    profile shop (default) fits no topic │ 12:00:00 UTC
          1   2   3   4   5   6   7   8 KPIs   9   0                         theme dark
        ┌ KPIs ────────────────────────────────────────────────────────────────────────┐
        │ No profile for these topics: shop (default) knows none of the 4 tables seen. │
        │ Revenue, transactions and categories need a profile of your own:             │
        │   cdctop profile init --brokers … --topics …   drafts one from your topics,  │
        │   then run with --profile FILE  (KPIs as SQL: see profiles/northwind.toml).  │
        │ Tables (2), lag (4), alerts (6), latency (7) and changes work without one.   │
        │                                                                              │
        │ KPIs written as SQL over your own tables appear here, one [kpi.NAME] each:   │
        │   [kpi.units_by_category]                                                    │
        │   sql = "select c.name, sum(d.quantity) from lines d join … group by 1"      │
        │ Exact through updates and deletes, with their groups and values.             │
        │ See profiles/northwind.toml, then run with --profile FILE.                   │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        └──────────────────────────────────────────────────────────────────────────────┘
         Kafka ● ok │ Redis ○ off │ Warehouse ○ off │ state ● 3.0s ago      malformed 3
         ? help  q quit  0-9/Tab views  p pause  t theme  m mirror  : command
        """#,
        "kpis-shop": #"""
         cdctop › fixture › KPIs                  profile shop (default) │ 12:00:00 UTC
          1   2   3   4   5   6   7   8 KPIs   9   0                         theme dark
        ┌ KPIs ────────────────────────────────────────────────────────────────────────┐
        │ Profile shop (default) has built-in KPIs: see 1 Overview and 3 Categories.   │
        │                                                                              │
        │ KPIs written as SQL over your own tables appear here, one [kpi.NAME] each:   │
        │   [kpi.units_by_category]                                                    │
        │   sql = "select c.name, sum(d.quantity) from lines d join … group by 1"      │
        │ Exact through updates and deletes, with their groups and values.             │
        │ See profiles/northwind.toml, then run with --profile FILE.                   │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        └──────────────────────────────────────────────────────────────────────────────┘
         Kafka ● ok │ Redis ○ off │ Warehouse ○ off │ state ● 3.0s ago      malformed 3
         ? help  q quit  0-9/Tab views  p pause  t theme  m mirror  : command
        """#,
        "kpis-sorted-filtered": #"""
         cdctop › fixture › KPIs › /er                 profile northwind │ 12:00:00 UTC
          1   2   3   4   5   6   7   8 KPIs   9   0                         theme dark
        ┌ 8 KPIs of northwind · sorted by group asc · /er: 5 match ────────────────────┐
        │KPI · group▲                        window  1st value   2nd value    3rd value│
        │category_sales = sum(d.unit_price * d.quantity * (1 - d.discount)) by categor…│
        │  Beverages                        3816.48 1183376.92                         │
        │  Grains/Cereals                   2544.32  767460.04                         │
        │  12 rows wait for a lookup row                                               │
        │discounted_lines = count(*) · sum(d.quantity) by category_name                │
        │  Beverages                           1590     347483     3127347             │
        │  Grains/Cereals                       883     193046     1737414             │
        │orders_by_country = count(*) · avg(freight) by ship_country (totals only)     │
        │  Argentina                                     31589      268.29             │
        │  Austria                                       78973      121.22             │
        │  Belgium                                       37769      228.18             │
        │  Brazil                                       173741       67.74             │
        │  Canada                                        62050      147.96             │
        │  Denmark                                       35457      241.55             │
        │  Finland                                       43435      201.44             │
        │  France                                       133647       81.11             │
        │  Germany                                      248202       54.37             │
        └───────────────────────────────────────────────────────────────────────1-17/36┘
         Kafka ● ok │ Redis ○ off │ Warehouse ○ off │ state ● 3.0s ago      malformed 3
         ? help  q quit  0-9/Tab views  ↑↓ move  s/S sort  / filter  p pause  t theme
        """#,
        "lag": #"""
         cdctop › fixture › Lag                   profile shop (default) │ 12:00:00 UTC
          1   2   3   4 Lag   5   6   7   8   9   0                          theme dark
        ┌ Topics shop.public.* · lag 5,418 msgs (group 6,858) · sorted by topic ───────┐
        │topic▲        p position  high wm    lag group lag  lag s trend (top)  verdict│
        │customer      0    58000    58000      0       120     0s ▁▁▁▁▁▁▁  133 OK     │
        │customer      1    57493    57500      7       127  400ms ▁▁▁▁▁▁▁  125 OK     │
        │customer      2    57044    57058     14       134  400ms ▂▂▂▂▂▂▂  118 OK     │
        │product       0    58557    58571     14       134  400ms ▂▂▂▂▂▂▂  143 OK     │
        │product       1    58000    58000      0       120     0s ▁▁▁▁▁▁▁  133 OK     │
        │product       2    57493    57500      7       127  400ms ▁▁▁▁▁▁▁  125 OK     │
        │transaction   0    60000    60000      0       120     0s ▁▁▁▁▁▁▁  167 OK     │
        │transaction   1    59223    59230      7       127  400ms ▁▁▁▁▁▁▁  154 OK     │
        │transaction   2    58557    58571     14       134  400ms ▂▂▂▂▂▂▂  143 OK     │
        │transa…etail  0    59223    59230      7       127  400ms ▁▁▁▁▁▁▁  154 OK     │
        │transa…etail  1    58557    58571     14       134  400ms ▂▂▂▂▂▂▂  143 OK     │
        │transa…etail  2    52666    58000  5,334     5,454  40.0s ▇▇▇▇███ 5.3k STALLED│
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        └──────────────────────────────────────────────────────────────────────────────┘
         Kafka ● ok │ Redis ○ off │ Warehouse ○ off │ state ● 3.0s ago      malformed 3
         ? help  q quit  0-9/Tab views  ↑↓ move  s/S sort  / filter  p pause  t theme
        """#,
        "overview": #"""
         cdctop › fixture › Overview              profile shop (default) │ 12:00:00 UTC
          1 Overview   2   3   4   5   6   7   8   9   0                     theme dark
        ┌ Window revenue ──┐┌ Last 5m revenue ─┐┌ Total revenue ───┐┌ Avg ticket ──────┐
        │        335,293.67││      2,707,988.72││     73,266,832.72││             42.17│
        │ partial 29.6s/30s││         64,216 tx││       since start││      revenue ÷ tx│
        └──────────────────┘└──────────────────┘└──────────────────┘└──────────────────┘
        ┌ Transactions ────┐┌ Events/s ────────┐┌ Total lag ───────┐┌ Freshness ───────┐
        │         1,737,416││             1,800││        5,418 msgs││             400ms│
        │    225.0 new tx/s││      240,000 msgs││      catching up…││ now − last commit│
        └──────────────────┘└──────────────────┘└──────────────────┘└──────────────────┘
        ┌ Revenue per 30s window (last = partial) ─────┐┌ Top categories (total) ──────┐
        │335k│                                     ▇  █││electronics █████ 1,183,376.92│
        │    │                             ▂  ▃  ▆ ██▁█││books       ████▊ 1,110,166.96│
        │    │ ▅  ▁       ▂             █▁ █▃ █▅ █▇████││garden      ████▍ 1,040,828.56│
        │    │ █▄ █  ▆  ▃ █▂ █  █  █  █▁██▂██▄██▆██████││toys        ████▏   973,747.36│
        │    │▇██▃██ █▅ █▃██▂██▁██ ██▁█████████████████││grocery     ███▉    904,399.72│
        │    │█████████▅███████████████████████████████││fashion     ███▌    832,848.12│
        │    │█████████████████████████████████████████││sports      ███▎    767,460.04│
        │    │█████████████████████████████████████████││beauty      ██▉     692,076.04│
        │   0│█████████████████████████████████████████││home        ██▋     629,642.12│
        │     11:39   now 335,293.67 (partial)    11:59││automotive  ██▍     554,812.96│
        └──────────────────────────────────────────────┘└──────────────────────────────┘
         Kafka ● ok │ Redis ○ off │ Warehouse ○ off │ state ● 3.0s ago      malformed 3
         ? help  q quit  0-9/Tab views  p pause  t theme  m mirror  : command
        """#,
        "overview-ascii": #"""
         cdctop > fixture > Overview              profile shop (default) | 12:00:00 UTC
          1 Overview   2   3   4   5   6   7   8   9   0                     theme dark
        + Window revenue --++ Last 5m revenue -++ Total revenue ---++ Avg ticket ------+
        |        335,293.67||      2,707,988.72||     73,266,832.72||             42.17|
        | partial 29.6s/30s||         64,216 tx||       since start||      revenue / tx|
        +------------------++------------------++------------------++------------------+
        + Transactions ----++ Events/s --------++ Total lag -------++ Freshness -------+
        |         1,737,416||             1,800||        5,418 msgs||             400ms|
        |    225.0 new tx/s||      240,000 msgs||    catching up...|| now - last commit|
        +------------------++------------------++------------------++------------------+
        + Revenue per 30s window (last = partial) -----++ Top categories (total) ------+
        |335k|                                     #  #||electronics ##### 1,183,376.92|
        |    |                             .  -  * ##_#||books       ##### 1,110,166.96|
        |    | =  _       .             #_ #- #= ######||garden      ####  1,040,828.56|
        |    | #~ #  *  - #. #  #  #  #_##.##~##*######||toys        ####    973,747.36|
        |    |###-## #= #-##.##_## ##_#################||grocery     ####    904,399.72|
        |    |#########=###############################||fashion     ####    832,848.12|
        |    |#########################################||sports      ###     767,460.04|
        |    |#########################################||beauty      ###     692,076.04|
        |   0|#########################################||home        ###     629,642.12|
        |     11:39   now 335,293.67 (partial)    11:59||automotive  ##      554,812.96|
        +----------------------------------------------++------------------------------+
         Kafka * ok | Redis o off | Warehouse o off | state * 3.0s ago      malformed 3
         ? help  q quit  0-9/Tab views  p pause  t theme  m mirror  : command
        """#,
        "overview-no-profile": #"""
         cdctop › Overview          profile shop (default) fits no topic │ 12:00:00 UTC
          1 Overview   2   3   4   5   6   7   8   9   0                     theme dark
        ┌ Window revenue ──┐┌ Last 5m revenue ─┐┌ Total revenue ───┐┌ Avg ticket ──────┐
        │                 –││                 –││                 –││                 –│
        │        no profile││        no profile││        no profile││        no profile│
        └──────────────────┘└──────────────────┘└──────────────────┘└──────────────────┘
        ┌ Transactions ────┐┌ Events/s ────────┐┌ Total lag ───────┐┌ Freshness ───────┐
        │                 –││             1,800││        5,418 msgs││             400ms│
        │        no profile││      240,000 msgs││      catching up…││ now − last commit│
        └──────────────────┘└──────────────────┘└──────────────────┘└──────────────────┘
        ┌ KPIs: no profile for these topics ───────────────────────────────────────────┐
        │                                                                              │
        │                                                                              │
        │ No profile for these topics: shop (default) knows none of the 4 tables seen. │
        │ Revenue, transactions and categories need a profile of your own:             │
        │   cdctop profile init --brokers … --topics …   drafts one from your topics,  │
        │   then run with --profile FILE  (KPIs as SQL: see profiles/northwind.toml).  │
        │ Tables (2), lag (4), alerts (6), latency (7) and changes work without one.   │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        └──────────────────────────────────────────────────────────────────────────────┘
         Kafka ● ok │ Redis ○ off │ Warehouse ○ off │ state ● 3.0s ago      malformed 3
         ? help  q quit  0-9/Tab views  p pause  t theme  m mirror  : command
        """#,
        "overview-no-profile-120": #"""
         cdctop › fixture › Overview                                        profile shop (default) fits no topic │ 12:00:00 UTC
          1 Overview   2 Tables   3 Categories   4 Lag   5 History   6 Alerts   7 Latency   8 KPIs   9 Snapshot   0 Trends
        ┌ Window revenue ────────────┐┌ Last 5m revenue ───────────┐┌ Total revenue ─────────────┐┌ Avg ticket ────────────────┐
        │                           –││                           –││                           –││                           –│
        │                  no profile││                  no profile││                  no profile││                  no profile│
        └────────────────────────────┘└────────────────────────────┘└────────────────────────────┘└────────────────────────────┘
        ┌ Transactions ──────────────┐┌ Events/s ──────────────────┐┌ Total lag ─────────────────┐┌ Freshness ─────────────────┐
        │                           –││                       1,800││                  5,418 msgs││                       400ms│
        │                  no profile││                240,000 msgs││                catching up…││           now − last commit│
        └────────────────────────────┘└────────────────────────────┘└────────────────────────────┘└────────────────────────────┘
        ┌ KPIs: no profile for these topics ───────────────────────────────────────────────────────────────────────────────────┐
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │ No profile for these topics: shop (default) knows none of the 4 tables seen.                                         │
        │ Revenue, transactions and categories need a profile of your own:                                                     │
        │   cdctop profile init --brokers … --topics …   drafts one from your topics,                                          │
        │   then run with --profile FILE  (KPIs as SQL: see profiles/northwind.toml).                                          │
        │ Tables (2), lag (4), alerts (6), latency (7) and changes work without one.                                           │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        └──────────────────────────────────────────────────────────────────────────────────────────────────────────────────────┘
        ┌ Tables (2 for details) ──────────────────────────────────────────────────────────────────────────────────────────────┐
        │table                                      c       u       d       r  tomb    ev/s    last  malf                      │
        │accounts                              31,000  10,333   1,550   5,000 1,550     900   400ms     0                      │
        │audit_log                             18,142   6,047     907   1,250   907     360    5.5s     0                      │
        │ledger_entries                        25,000   8,333   1,250   2,500 1,250     600    2.1s     0                      │
        │users                                 21,000   7,000   1,050   1,666 1,050     450    3.8s     0                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        └──────────────────────────────────────────────────────────────────────────────────────────────────────────────────────┘
         Kafka ● ok │ Redis mirror ○ off │ Warehouse ○ off │ state ● 3.0s ago          msgs 240,000 · malformed 3 · unmatched 6
         ? help  q quit  0-9/Tab views  p pause  t theme  m mirror  : command
        """#,
        "overview-northwind": #"""
         cdctop › fixture › Overview                   profile northwind │ 12:00:00 UTC
          1 Overview   2   3   4   5   6   7   8   9   0                     theme dark
        ┌ Window revenue ──┐┌ Last 5m revenue ─┐┌ Total revenue ───┐┌ Avg ticket ──────┐
        │        335,293.67││      2,707,988.72││     73,266,832.72││             42.17│
        │ partial 29.6s/30s││         64,216 tx││       since start││      revenue ÷ tx│
        └──────────────────┘└──────────────────┘└──────────────────┘└──────────────────┘
        ┌ Transactions ────┐┌ Events/s ────────┐┌ Total lag ───────┐┌ Freshness ───────┐
        │         1,737,416││             1,800││        5,439 msgs││             400ms│
        │    225.0 new tx/s││      240,000 msgs││      catching up…││ now − last commit│
        └──────────────────┘└──────────────────┘└──────────────────┘└──────────────────┘
        ┌ Revenue per 30s window (last = partial) ─────┐┌ Top categories (total) ──────┐
        │335k│                                     ▇  █││Beverages      ██ 1,183,376.92│
        │    │                             ▂  ▃  ▆ ██▁█││Dairy Products █▉ 1,110,166.96│
        │    │ ▅  ▁       ▂             █▁ █▃ █▅ █▇████││Confections    █▊ 1,040,828.56│
        │    │ █▄ █  ▆  ▃ █▂ █  █  █  █▁██▂██▄██▆██████││Meat/Poultry   █▋   973,747.36│
        │    │▇██▃██ █▅ █▃██▂██▁██ ██▁█████████████████││Seafood        █▌   904,399.72│
        │    │█████████▅███████████████████████████████││Condiments     █▍   832,848.12│
        │    │█████████████████████████████████████████││Grains/Cereals █▎   767,460.04│
        │    │█████████████████████████████████████████││Produce        █▏   692,076.04│
        │   0│█████████████████████████████████████████││                              │
        │     11:39   now 335,293.67 (partial)    11:59││                              │
        └──────────────────────────────────────────────┘└──────────────────────────────┘
         Kafka ● ok │ Redis ○ off │ Warehouse ○ off │ state ● 3.0s ago      malformed 3
         ? help  q quit  0-9/Tab views  p pause  t theme  m mirror  : command
        """#,
        "tables": #"""
         cdctop › fixture › Tables                profile shop (default) │ 12:00:00 UTC
          1   2 Tables   3   4   5   6   7   8   9   0                       theme dark
        ┌ CDC tables · counts by op (c create, u update, d delete, r snapshot read) ───┐
        │table                    c       u       d       r  tomb    ev/s    last  malf│
        │customer            18,142   6,047     907   1,250   907     360    5.5s     0│
        │product             21,000   7,000   1,050   1,666 1,050     450    3.8s     0│
        │transaction         31,000  10,333   1,550   5,000 1,550     900   400ms     0│
        │transactiondetail   25,000   8,333   1,250   2,500 1,250     600    2.1s     3│
        │                                                                              │
        │                                                                              │
        │                                                                              │
        └──────────────────────────────────────────────────────────────────────────────┘
        ┌ Counters since start ────────────────────────────────────────────────────────┐
        │msgs 240,000 · tombstones 412 · heartbeats 0 · malformed 3 · refused 0        │
        │dropped 0 · late corrections 17 · duplicates 4 · unmatched 6 · ignored 120    │
        │parked 2                                                                      │
        │unmatched 6 — started after the snapshot? changes to rows cdctop never saw    │
        │state .cdctop/state — checkpoint 3.0s ago, 12 so far                          │
        └──────────────────────────────────────────────────────────────────────────────┘
        ┌ Malformed messages (latest first: table, position, reason) ──────────────────┐
        │transactiondetail p1@5123  decimal 'unit_price' has scale 12 (more than 9 pla…│
        └──────────────────────────────────────────────────────────────────────────────┘
         Kafka ● ok │ Redis ○ off │ Warehouse ○ off │ state ● 3.0s ago      malformed 3
         ? help  q quit  0-9/Tab views  ↑↓ move  Enter open  s/S sort  / filter
        """#,
        "tables-northwind": #"""
         cdctop › fixture › Tables                                         profile northwind │ 12:00:00 UTC
          1 Overview 2 Tables  3 Categories 4 Lag 5 History 6 Alerts 7 Latency 8 KPIs 9 Snapshot 0 Trends
        ┌ CDC tables · counts by op (c create, u update, d delete, r snapshot read) ───────────────────────┐
        │table                                      c       u       d       r  tomb    ev/s    last  malf  │
        │categories                            18,142   6,047     907   1,250   907     360    5.5s     0  │
        │order_details                         25,000   8,333   1,250   2,500 1,250     600    2.1s     0  │
        │orders                                31,000  10,333   1,550   5,000 1,550     900   400ms     0  │
        │products                              21,000   7,000   1,050   1,666 1,050     450    3.8s     0  │
        │shippers                              16,000   5,333     800   1,000   800     300    7.2s     0  │
        │                                                                                                  │
        │                                                                                                  │
        │                                                                                                  │
        │                                                                                                  │
        │                                                                                                  │
        │                                                                                                  │
        └──────────────────────────────────────────────────────────────────────────────────────────────────┘
        ┌ Counters since start ────────────────────────────────────────────────────────────────────────────┐
        │msgs 240,000 · tombstones 412 · heartbeats 0 · malformed 3 · refused 0 · dropped 0                │
        │late corrections 17 · duplicates 4 · unmatched 9 · ignored 120 · parked 12                        │
        │deletes 5 — carried only the key (REPLICA IDENTITY DEFAULT on a table cdctop had not seen from its│
        │  snapshot): set REPLICA IDENTITY FULL, or read from the snapshot on                              │
        │unmatched 4 more — started after the snapshot? changes to rows cdctop never saw                   │
        │key collisions 2 — 2 creates for keys already alive: check the table's key                        │
        │state .cdctop/state — checkpoint 3.0s ago, 12 so far                                              │
        └──────────────────────────────────────────────────────────────────────────────────────────────────┘
        ┌ Malformed messages (latest first: table, position, reason) ──────────────────────────────────────┐
        │order_details p1@5123  decimal 'unit_price' has scale 12 (more than 9 places)                     │
        └──────────────────────────────────────────────────────────────────────────────────────────────────┘
         Kafka ● ok │ Redis mirror ○ off │ Warehouse ○ off │ state ● 3.0s ago     malformed 3 · unmatched 9
         ? help  q quit  0-9/Tab views  ↑↓ move  Enter open  s/S sort  / filter  p pause  t theme
        """#,
        "trends-200x60": #"""
         cdctop › fixture › Trends                                                                                                                                        profile shop (default) │ 12:00:00 UTC
          1 Overview   2 Tables   3 Categories   4 Lag   5 History   6 Alerts   7 Latency   8 KPIs   9 Snapshot   0 Trends                                                                           theme dark
        ┌ Scope (↑↓) ────────────────────┐ Trends › customer · last 5 min · 5s a column · w: 5 min/1 h/1 day
        │table                   events/s│Events/s (average)                                                        now 15/s  Lag, messages (max)                                                          now 0
        │all tables               1,800/s│40/s│                                                                                 1│
        │customer                   360/s│    │                                                                                  │
        │product                    450/s│    │                  ▃█▁                                                             │
        │transaction                900/s│    │                 ▆███▁▆ ▄█   ▃                                                    │
        │transactiondetail          600/s│    │                 ██████▆██ ▁▇█▄ ▁  ▄                                              │
        │                                │    │                 █████████▅████▅█▂▇█  ▂▇                                          │
        │                                │    │                 ███████████████████ ▅███ ▅ ▃▇   ▂                                │
        │                                │    │                 ██████████████████████████▅██  ▆█▃    ▃                          │
        │                                │    │                 █████████████████████████████▄████▄█▁▆█  ▁▆                      │
        │                                │    │                 ███████████████████████████████████████ ▄██▇ ▄ ▂▆   ▁            │
        │                                │    │                 ███████████████████████████████████████▇████▇█▄██  ▅█▂    ▂      │
        │                                │    │                 █████████████████████████████████████████████████▃▇███▃▇ ▅█      │
        │                                │20/s│                 ███████████████████████████████████████████████████████████   0.5│
        │                                │    │                 ███████████████████████████████████████████████████████████      │
        │                                │    │                 ███████████████████████████████████████████████████████████      │
        │                                │    │                 ███████████████████████████████████████████████████████████▃     │
        │                                │    │                 ████████████████████████████████████████████████████████████     │
        │                                │    │                 ████████████████████████████████████████████████████████████     │
        │                                │    │                 ████████████████████████████████████████████████████████████     │
        │                                │    │                 ████████████████████████████████████████████████████████████     │
        │                                │    │                 ████████████████████████████████████████████████████████████     │
        │                                │    │                 ████████████████████████████████████████████████████████████     │
        │                                │    │                 ████████████████████████████████████████████████████████████     │
        │                                │    │                 ████████████████████████████████████████████████████████████     │
        │                                │   0│                 ████████████████████████████████████████████████████████████    0│
        │                                │                      11:55:05                  11:57:35                  12:00:00                        11:55:05                  11:57:35                  12:00:00
        │                                │Lag, seconds (max, oldest unread)                                          now 0ms  Freshness: age of newest commit (max)                                    now 40.0s
        │                                │  1s│                                                                               60s│
        │                                │    │                                                                                  │
        │                                │    │                                                                                  │
        │                                │    │                                                                                  │
        │                                │    │                                                                                  │
        │                                │    │                                                                                  │
        │                                │    │                                                                                  │
        │                                │    │                                                                                  │
        │                                │    │                                                                                  │                  ▃▃▃▃▃▃▃▃▃▃▃▃▃▃▃▃▃▃▃▃▃▃▃▃▃▃▃▃▃▃▃▃▃▃▃▃▃▃▃▃▃▃▃▃▃▃▃▃▃▃▃▃▃▃▃▃▃▃▃▃
        │                                │    │                                                                                  │                  ████████████████████████████████████████████████████████████
        │                                │    │                                                                                  │                  ████████████████████████████████████████████████████████████
        │                                │    │                                                                                  │                  ████████████████████████████████████████████████████████████
        │                                │    │                                                                                  │                  ████████████████████████████████████████████████████████████
        │                                │0.5s│                                                                               30s│                  ████████████████████████████████████████████████████████████
        │                                │    │                                                                                  │                  ████████████████████████████████████████████████████████████
        │                                │    │                                                                                  │                  ████████████████████████████████████████████████████████████
        │                                │    │                                                                                  │                  ████████████████████████████████████████████████████████████
        │                                │    │                                                                                  │                  ████████████████████████████████████████████████████████████
        │                                │    │                                                                                  │                  ████████████████████████████████████████████████████████████
        │                                │    │                                                                                  │                  ████████████████████████████████████████████████████████████
        │                                │    │                                                                                  │                  ████████████████████████████████████████████████████████████
        │                                │    │                                                                                  │                  ████████████████████████████████████████████████████████████
        │                                │    │                                                                                  │                  ████████████████████████████████████████████████████████████
        │                                │    │                                                                                  │                  ████████████████████████████████████████████████████████████
        │                                │    │                                                                                  │                  ████████████████████████████████████████████████████████████
        │                                │  0s│                                                                                0s│                  ████████████████████████████████████████████████████████████
        └────────────────────────────────┘                      11:55:05                  11:57:35                  12:00:00                        11:55:05                  11:57:35                  12:00:00
         Kafka ● ok 127.0.0.1:9092 (mock) │ Redis mirror ○ off │ Warehouse ○ off │ state ● 3.0s ago             msgs 240,000 · malformed 3 · refused 0 · late 17 · dup 4 · unmatched 6 · ignored 120 · parked 2
         ? help  q quit  0-9/Tab views  ↑↓ table  w 1 h  p pause  t theme  m mirror  : command
        """#,
        "trends-60x16": #"""
         cdctop › Trends      profile shop (default) │ 12:00:00 UTC
          1   2   3   4   5   6   7   8   9   0 Trends   theme dark
         Trends › pipeline (all tables) · last 5 min · 15s a column
        Events/s (average)   now 60/s  Lag, messages (max)     now 0
        200/s│   ▁                     40k│               ▅▆
        100/s│   ████▇▇▇▆▆▅▅▅▄▄▄▃▃▃▂   20k│             ▂███▄
            0│   ███████████████████▇    0│     ▁▁▁▁▁▁▁▅██████▄
                 11:55:15    12:00:00           11:55:15    12:00:00
        Lag s max             now 0ms  Freshness max       now 500ms
        10s│                             1s│
           │     ▆▆▆▆▆▆▆▆▆▆▆▆▆▆▆           │
         5s│     ███████████████       0.5s│    ████████████████████
         0s│     ███████████████         0s│    ████████████████████
                 11:55:15    12:00:00           11:55:15    12:00:00
         Kafka ● ok │ Redis ○ off │ Warehouse ○ off │ state ● 3.0s a
         ? help  q quit  0-9/Tab views  ↑↓ table  w 1 h  p pause
        """#,
        "trends-80x24": #"""
         cdctop › fixture › Trends                profile shop (default) │ 12:00:00 UTC
          1   2   3   4   5   6   7   8   9   0 Trends                       theme dark
         Trends › pipeline (all tables) · last 5 min · 10s a column · ↑↓ table 1/5
        Events/s (average)             now 60/s  Lag, messages (max)               now 0
        200/s│                                   40k│                     ▂▂
             │   ▁                                  │                    ▁██
             │   █▇▆▇▄▆▄▃▄▁▃▁▁▁                     │                   ▁███
        100/s│   ██████████████▆█▆▆▇▃▅▃▃▄ ▃▁ ▁   20k│                   █████▁
             │   █████████████████████████████▁     │                  ███████▃
             │   ██████████████████████████████     │                 █████████▅
            0│   ██████████████████████████████    0│     ▁▁▁▁▁▁▁▁▁▁▁███████████▆
                 11:55:10   11:57:40   12:00:00           11:55:10   11:57:40   12:00:00
        Lag s max                       now 0ms  Freshness max                 now 500ms
        10s│                                       1s│
           │                                         │
           │     ▅▅▅▅▅▅▅▅▅▅▅▅▅▅▅▅▅▅▅▅▅▅▅             │
           │     ███████████████████████             │
         5s│     ███████████████████████         0.5s│    ██████████████████████████████
           │     ███████████████████████             │    ██████████████████████████████
           │     ███████████████████████             │    ██████████████████████████████
         0s│     ███████████████████████           0s│    ██████████████████████████████
                 11:55:10   11:57:40   12:00:00           11:55:10   11:57:40   12:00:00
         Kafka ● ok │ Redis ○ off │ Warehouse ○ off │ state ● 3.0s ago      malformed 3
         ? help  q quit  0-9/Tab views  ↑↓ table  w 1 h  p pause  t theme  m mirror
        """#,
        "trends-ascii-80x24": #"""
         cdctop > fixture > Trends                profile shop (default) | 12:00:00 UTC
          1   2   3   4   5   6   7   8   9   0 Trends                       theme dark
         Trends > pipeline (all tables) - last 5 min - 10s a column - j/k table 1/5
        Events/s (average)             now 60/s  Lag, messages (max)               now 0
        200/s|                                   40k|                     ..
             |   _                                  |                    _##
             |   ##*#~*~-~_-___                     |                   _###
        100/s|   ##############*#**#-=--~ -_ _   20k|                   #####_
             |   #############################_     |                  #######-
             |   ##############################     |                 #########=
            0|   ##############################    0|     ___________###########*
                 11:55:10   11:57:40   12:00:00           11:55:10   11:57:40   12:00:00
        Lag s max                       now 0ms  Freshness max                 now 500ms
        10s|                                       1s|
           |                                         |
           |     =======================             |
           |     #######################             |
         5s|     #######################         0.5s|    ##############################
           |     #######################             |    ##############################
           |     #######################             |    ##############################
         0s|     #######################           0s|    ##############################
                 11:55:10   11:57:40   12:00:00           11:55:10   11:57:40   12:00:00
         Kafka * ok | Redis o off | Warehouse o off | state * 3.0s ago      malformed 3
         ? help  q quit  0-9/Tab views  j/k table  w 1 h  p pause  t theme  m mirror
        """#,
        "trends-day-table-60x16": #"""
         cdctop › Trends      profile shop (default) │ 12:00:00 UTC
          1   2   3   4   5   6   7   8   9   0 Trends   theme dark
         Trends › transaction · last 1 day · 70m a column
        Events/s (average)   now 45/s  Lag, messages (max)     now 0
        80/s│                     ▆▆   40k│                       ▆
        40/s│                     ██▆  20k│                       █
           0│                     ███    0│                      ▁█
                12:40   00:20   12:00          12:40   00:20   12:00
        Lag s max             now 0ms  Freshness max        now 2.0s
        10s│                           2s│                       ███
           │                      ▆▆     │                       ███
         5s│                      ██   1s│                       ███
         0s│                      ██   0s│                       ███
                12:40   00:20   12:00          12:40   00:20   12:00
         Kafka ● ok │ Redis ○ off │ Warehouse ○ off │ state ● 3.0s a
         ? help  q quit  0-9/Tab views  ↑↓ table  w 5 min  p pause
        """#,
        "trends-hour-80x24": #"""
         cdctop › fixture › Trends                profile shop (default) │ 12:00:00 UTC
          1   2   3   4   5   6   7   8   9   0 Trends                       theme dark
         Trends › pipeline (all tables) · last 1 h · 2m a column · ↑↓ table 1/5
        Events/s (average)             now 60/s  Lag, messages (max)               now 0
        200/s│                                   40k│                                ▂▂
             │                                      │                                ██
             │     ▂    ▂    ▂    ▂    ▂    ▂       │                                ██
        100/s│    ▇█▃  ▇█   ▇█▃  ▇█▃  ▇█▃  ▇█▃   20k│                                ██
             │   ████████ ▇███████████████████▁     │                                ██
             │   ████████▆█████████████████████     │                                ██
            0│   ██████████████████████████████    0│     ▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁██
                 11:02        11:32       12:00           11:02        11:32       12:00
        Lag s max                       now 0ms  Freshness max                 now 500ms
        10s│                                      2m│
           │                                        │
           │     ▅▅▅▅▅▅▅▅▅▅▅▅▅▅▅▅▅▅▅▅▅▅▅▅▅▅▅▅▅      │
           │     █████████████████████████████      │
         5s│     █████████████████████████████   60s│             ██
           │     █████████████████████████████      │             ██
           │     █████████████████████████████      │             ██
         0s│     █████████████████████████████    0s│     ▁▁▁▁▁▁▁▁██▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁
                 11:02        11:32       12:00           11:02        11:32       12:00
         Kafka ● ok │ Redis ○ off │ Warehouse ○ off │ state ● 3.0s ago      malformed 3
         ? help  q quit  0-9/Tab views  ↑↓ table  w 1 day  p pause  t theme  m mirror
        """#,
    ]
}
